/**
 * Clone of Windows domain PCs end to end, with a REAL smbd share on 127.0.0.1 (test/helpers/smbd.ts)
 * as the netlogon destination and the module's HTTP endpoints on loopback. The "Windows PC" is
 * played at the process boundary: it reads its scripts from the share, expands them the way
 * cmd.exe and PowerShell would, and calls the URLs they contain with the tokens they contain.
 * Only the host is faked (test/helpers/fake-host.ts); SQLite is a real file, the clock is fake.
 */
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { BootPlanStore } from '../../src/boot/boot-plan-store';
import { Mac } from '../../src/common/domain/mac';
import { type ModuleParts, register, type RunningModule } from '../../src/index';
import { createFakeHost, type FakeHost, fakeHostApp, listen, USERS } from '../helpers/fake-host';
import { RecordingWaker } from '../helpers/actions-fixtures';
import { NOTHING_BLOCKS } from '../helpers/fakes';
import { type RunningSmbd, SMB_PASSWORD, SMB_USER, SMB_WORKGROUP, smbdInstalled, startSmbd } from '../helpers/smbd';

const d = smbdInstalled() && process.getuid?.() === 0 ? describe : describe.skip;
const MAC = { pc01: '02:00:00:00:00:01', pc02: '02:00:00:00:00:02', pc03: '02:00:00:00:00:03', pc04: '02:00:00:00:00:04', pc05: '02:00:00:00:00:05', pc06: '02:00:00:00:00:06' };

/** cmd.exe's view of a script: %NAME% expanded from the variables set so far (and the environment). */
function expandCmd(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/%([A-Za-z_]+)%/g, (m, n: string) => vars[n.toUpperCase()] ?? m);
}

/** Runs the `set "NAME=value"` lines of a script in order, as cmd.exe would. */
function runCmdSets(script: string, env: Record<string, string>): Record<string, string> {
  const vars: Record<string, string> = { ...env };
  for (const line of script.split('\r\n')) {
    const m = /^set "([A-Za-z_]+)=(.*)"$/.exec(line);
    if (m) vars[m[1].toUpperCase()] = expandCmd(m[2], vars);
  }
  return vars;
}

/** What the emitter would do with its two scripts, read from the share. */
function windowsPcReads(shareDir: string, machine: string) {
  const dir = path.join(shareDir, 'machine', machine);
  const cmd = fs.readFileSync(path.join(dir, 'clonage-emitter.cmd'), 'latin1');
  const ps1 = fs.readFileSync(path.join(dir, 'clonage-postclone.ps1'), 'latin1');
  const env = { COMPUTERNAME: machine.toUpperCase(), PROGRAMDATA: 'C:\\ProgramData', SYSTEMROOT: 'C:\\Windows' };
  const vars = runCmdSets(cmd, env);
  // The script refuses to run on another machine: `if /i not "%COMPUTERNAME%"=="<machine>"`.
  const guard = /if \/i not "%COMPUTERNAME%"=="([^"]+)"/.exec(cmd)!;
  expect(guard[1].toLowerCase()).toBe(env.COMPUTERNAME.toLowerCase());
  const curl = cmd.split('\r\n').find((l) => l.includes('curl.exe" -fsS'))!;
  const call = expandCmd(curl, vars);
  const header = /-H "Authorization: Bearer ([^"]+)"/.exec(call)![1];
  const url = /-d "" "([^"]+)"/.exec(call)![1];
  const psVar = (name: string) => new RegExp(`^\\$${name} = '([^']*)'$`, 'm').exec(ps1.replace(/\r\n/g, '\n'))![1];
  return { ackUrl: url, ackToken: header, postCloneBase: psVar('Base'), postCloneToken: psVar('Token') };
}

d('clone of Windows domain PCs: emitter preparation over a real smbd share', () => {
  let smbd: RunningSmbd;
  let host: FakeHost;
  let server: Server;
  let base: string;
  let module: RunningModule;
  let parts: ModuleParts;
  let bootPlans: BootPlanStore;
  const admin = USERS.admin.user;
  const armed = () => bootPlans.listArmed().map((p) => p.mac.toString()).sort();
  const state = (id: string) => (host.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(id) as { state: string }).state;
  const onShare = (machine: string) => fs.existsSync(path.join(smbd.shareDir, 'machine', machine));
  const snapshot = () => JSON.stringify(['clonage_actions', 'clonage_targets', 'clonage_events', 'clonage_boot_plans', 'clonage_emitter_preparations']
    .map((t) => host.db.prepare(`SELECT * FROM ${t}`).all()));
  const post = (url: string, token: string | null) => fetch(url, {
    method: 'POST', body: '', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
  });
  /** Waits for a condition (the other action's preparation keeps service.idle() pending), then for file operations. */
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
    await parts.preparer.idle();
  };

  beforeAll(async () => {
    smbd = await startSmbd();
    const fake = createFakeHost();
    // Agent and post-clone calls come from loopback, not from the lab's reserved 10.0.0.x: they are
    // bound to the address that fetched or claimed first (agent-sessions.test.ts proves `reserved`).
    fake.settings.set('agent.addressCheck', 'fetcher');
    ({ server, base } = await listen(fakeHostApp(fake)));
    // The module's public URL is the loopback server: the scripts on the share point the PC there.
    host = { ...fake, network: { ...fake.network, publicBaseUrl: base } };
    const s = host.settings;
    s.set('netlogon.destination', 'smb');
    s.set('netlogon.smb.server', '127.0.0.1');
    s.set('netlogon.smb.share', 'netlogon');
    s.set('netlogon.smb.baseDir', 'machine');
    s.set('netlogon.smb.username', SMB_USER);
    s.set('netlogon.smb.password', SMB_PASSWORD);
    s.set('netlogon.smb.domain', SMB_WORKGROUP);
    s.set('netlogon.smb.port', smbd.port);
    s.set('netlogon.smb.configFile', smbd.configFile);
    module = await register(host, { waker: new RecordingWaker(), blocker: NOTHING_BLOCKS, tickMs: 0, emitterPollMs: 200 });
    ({ parts } = module);
    bootPlans = parts.bootPlans;
  });

  afterAll(async () => {
    await module?.stop();
    await new Promise((r) => server?.close(r));
    await smbd?.stop();
    host?.cleanup();
  });

  let cloneId: string;
  let pc: ReturnType<typeof windowsPcReads>;
  let otherId: string;

  it('a windows-domain clone goes preparing: scripts land on the share, nothing is armed', async () => {
    const created = await parts.actions.create(admin, { type: 'clone', parcs: ['salle1'], emitter: 'pc01', receivers: ['pc02', 'pc03'], params: { domain: 'windows-domain' } });
    cloneId = created.id;
    await parts.scheduler.tick(host.clock.now());
    await parts.preparer.idle();
    expect(state(cloneId)).toBe('preparing');
    expect(armed()).toEqual([]);
    expect(fs.readdirSync(path.join(smbd.shareDir, 'machine', 'pc01')).sort()).toEqual(['clonage-emitter.cmd', 'clonage-postclone.ps1']);
    pc = windowsPcReads(smbd.shareDir, 'pc01');
    expect(pc.ackUrl).toBe(`${base}/modules/clonage/api/emitter/ack?action=${cloneId}`);
    expect(pc.postCloneBase).toBe(`${base}/modules/clonage`);
    expect(pc.ackToken).not.toBe(pc.postCloneToken);
  });

  it('forged acknowledgements are refused and change nothing', async () => {
    const other = await parts.actions.create(admin, { type: 'clone', parcs: ['salle2'], emitter: 'pc05', receivers: ['pc06'], params: { domain: 'windows-domain' } });
    otherId = other.id;
    await parts.scheduler.tick(host.clock.now());
    await parts.preparer.idle();
    const otherPc = windowsPcReads(smbd.shareDir, 'pc05');
    const before = snapshot();
    const wrong = await post(pc.ackUrl, 'A'.repeat(43));
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await post(pc.ackUrl, null)).status).toBe(401);
    expect((await post(pc.ackUrl, pc.postCloneToken)).status).toBe(403);
    expect((await post(pc.ackUrl, otherPc.ackToken)).status).toBe(403);
    expect((await post(otherPc.ackUrl, pc.ackToken)).status).toBe(403);
    expect((await post(pc.ackUrl.replace(cloneId, 'a_doesnotexist'), pc.ackToken)).status).toBe(404);
    expect((await post(`${base}/modules/clonage/api/emitter/ack`, pc.ackToken)).status).toBe(404);
    expect((await fetch(pc.ackUrl, { headers: { authorization: `Bearer ${pc.ackToken}` } })).status).toBe(404);
    const big = await fetch(pc.ackUrl, { method: 'POST', headers: { authorization: `Bearer ${pc.ackToken}`, 'content-type': 'text/plain' }, body: 'x'.repeat(4096) });
    expect(big.status).toBe(413);
    expect(snapshot()).toBe(before);
    expect(state(cloneId)).toBe('preparing');
  });

  it('the PC acknowledges with the URL and token of its script: plans armed for emitter and receivers, scripts removed', async () => {
    const res = await post(pc.ackUrl, pc.ackToken);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
    await until(() => state(cloneId) === 'armed');
    expect(state(cloneId)).toBe('armed');
    expect(armed()).toEqual([MAC.pc01, MAC.pc02, MAC.pc03]);
    expect(onShare('pc01')).toBe(false);
    expect(onShare('pc05')).toBe(true);
    expect((await post(pc.ackUrl, pc.ackToken)).status).toBe(410);
  });

  it('after the clone, each PC gets its own reservation name with the post-clone token; other MACs are refused', async () => {
    const api = (p: string, mac: string, token: string | null = pc.postCloneToken, method = 'GET') =>
      fetch(`${pc.postCloneBase}/api/postclone/${p}?mac=${encodeURIComponent(mac)}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    for (const name of ['pc01', 'pc02', 'pc03'] as const) {
      const plan = bootPlans.get(Mac.parse(MAC[name]));
      if (plan?.kind !== 'job') throw new Error(`${name}: not armed`);
      const fetched = await fetch(`${base}/modules/clonage/api/agent/jobs/${plan.jobId}`, { headers: { authorization: `Bearer ${plan.token}` } });
      expect(fetched.status).toBe(200);
      const session = { 'x-clonage-session': fetched.headers.get('x-clonage-session')! };
      const done = await fetch(`${base}/modules/clonage/api/agent/jobs/${plan.jobId}/result`, { method: 'POST', headers: session, body: new URLSearchParams({ status: 'succeeded', exit_code: '0' }) });
      expect(done.status).toBe(200);
    }
    expect(state(cloneId)).toBe('succeeded');
    const machineToken: Partial<Record<keyof typeof MAC, string>> = {};
    for (const name of ['pc01', 'pc02', 'pc03'] as const) {
      const res = await api('name', MAC[name]);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect((await res.text()).trim()).toBe(name);
      machineToken[name] = res.headers.get('x-clonage-machine-token')!;
      expect(machineToken[name]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(new Set(Object.values(machineToken)).size).toBe(3); // one token per machine
    expect((await api('name', MAC.pc04)).status).toBe(404);
    expect((await api('name', MAC.pc05)).status).toBe(404);
    expect((await api('name', 'not-a-mac')).status).toBe(400);
    expect((await api('name', MAC.pc02, 'B'.repeat(43))).status).toBe(403);
    expect((await api('name', MAC.pc02, pc.ackToken)).status).toBe(403);
    expect((await api('name', MAC.pc02, null)).status).toBe(401);
    expect((await api('join', MAC.pc02, machineToken.pc02)).status).toBe(204);
    host.settings.set('postclone.join.domain', 'SAMBAEDU');
    host.settings.set('postclone.join.username', 'joiner');
    host.settings.set('postclone.join.password', 'J0in-only!');
    // The image's claim token, or another machine's token, never gets the account.
    expect((await api('join', MAC.pc02)).status).toBe(403);
    expect((await api('join', MAC.pc02, machineToken.pc03)).status).toBe(403);
    const join = await api('join', MAC.pc02, machineToken.pc02);
    expect(await join.text()).toBe('domain=SAMBAEDU\nusername=joiner\npassword=J0in-only!\n');
    const again = await api('join', MAC.pc02, machineToken.pc02);
    expect(again.status).toBe(409); // once per machine
    expect(await again.text()).not.toContain('J0in');
    expect((await api('join', MAC.pc04, machineToken.pc02)).status).toBe(403);
    expect((await api('done', `${MAC.pc02}`, machineToken.pc02, 'POST')).status).toBe(400);
    const done = await fetch(`${pc.postCloneBase}/api/postclone/done?mac=${encodeURIComponent(MAC.pc02)}&status=ok`, { method: 'POST', headers: { authorization: `Bearer ${machineToken.pc02}` } });
    expect(done.status).toBe(204);
    expect((await api('join', MAC.pc02, machineToken.pc02)).status).toBe(410); // dead after done
    expect((await api('name', MAC.pc02)).status).toBe(410);
    expect((await api('join', MAC.pc03, machineToken.pc03)).status).toBe(200); // its own, once
    const events = (host.db.prepare('SELECT message FROM clonage_events WHERE action_id = ?').all(cloneId) as { message: string }[]).map((e) => e.message);
    expect(events).toContain('pc02: post-clone done (renamed / rejoined)');
    expect(JSON.stringify(events)).not.toContain(pc.postCloneToken);
  });

  it('nobody acknowledges before the preparing timeout: the action fails cleanly, scripts removed, no plan armed', async () => {
    expect(state(otherId)).toBe('preparing');
    await parts.scheduler.tick(host.clock.advanceMinutes(39));
    expect(state(otherId)).toBe('preparing');
    await parts.scheduler.tick(host.clock.advanceMinutes(2));
    await parts.scheduler.idle();
    await parts.preparer.idle();
    expect(state(otherId)).toBe('failed');
    expect(onShare('pc05')).toBe(false);
    expect(armed()).toEqual([]);
    const error = (host.db.prepare('SELECT error FROM clonage_actions WHERE id = ?').get(otherId) as { error: string }).error;
    expect(error).toContain('emitter preparation took more than 40 minutes');
    expect(fs.readdirSync(path.join(smbd.shareDir, 'machine'))).toEqual([]);
  });
});
