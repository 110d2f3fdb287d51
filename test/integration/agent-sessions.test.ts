/**
 * Issue 12, V1: no PC can act as another PC's agent. The whole module (register(), boot service
 * with its TFTP server, agent and image routes) on the fake host, over loopback, with salle1's
 * reservations on loopback addresses: pc01 = 127.0.0.2, pc02 = 127.0.0.3, pc03 = 127.0.0.4. Every
 * client binds the local address it plays, so the server sees exactly that peer address
 * (`agent.addressCheck = reserved`, the default). 127.0.0.9 is "another PC of the network".
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Server } from 'node:http';
import { register } from '../../src/index';
import { tftpGet } from '../helpers/hostile';
import type { ModuleInstance } from '../../src/host/contract';
import { createFakeHost, type FakeHost, fakeHostApp, labOn, listen } from '../helpers/fake-host';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { Mac } from '../../src/common/domain/mac';
import { JOB_CAPS } from '../../src/agent/agent-jobs';
import { MAX_REFUSAL_EVENTS } from '../../src/agent/agent-auth';

const PC = { pc01: '127.0.0.2', pc02: '127.0.0.3', pc03: '127.0.0.4' } as const;
const STRANGER = '127.0.0.9';
const MAC = { pc01: '02:00:00:00:00:01', pc02: '02:00:00:00:00:02', pc03: '02:00:00:00:00:03' } as const;

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly session: string | undefined;
}

/** One HTTP request from a chosen local (loopback) address. */
function from(local: string, url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, localAddress: local, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), session: res.headers['x-clonage-session'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('agent sessions and reserved addresses (issue 12, V1)', () => {
  let host: FakeHost;
  let instance: ModuleInstance;
  let server: Server;
  let base: string;
  let tftpPort: number;
  let plans: BootPlanStore;

  beforeAll(async () => {
    host = createFakeHost({ lab: labOn([PC.pc01, PC.pc02, PC.pc03]) });
    host.settings.set('tftp.port', 0);
    host.settings.set('tftp.bindAddress', '127.0.0.1');
    const kit = path.join(host.dataDir, 'toolkits/clonage');
    fs.mkdirSync(kit, { recursive: true });
    fs.writeFileSync(path.join(kit, 'vmlinuz'), 'KERNEL');
    fs.writeFileSync(path.join(kit, 'initrd.img'), 'INITRD');
    instance = await register(host);
    ({ server, base } = await listen(fakeHostApp(host)));
    const started = host.logger.lines.map((l) => JSON.parse(l) as { msg?: string; tftpPort?: number }).find((e) => e.msg === 'boot service started');
    tftpPort = started!.tftpPort!;
    plans = new BootPlanStore(host.db, host.clock);
  });

  afterAll(async () => {
    await instance?.stop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    host?.cleanup();
  });

  const api = (jobId: string, suffix = '') => `${base}/modules/clonage/api/agent/jobs/${jobId}${suffix}`;
  const events = (key: string) => (host.db.prepare('SELECT message FROM clonage_events WHERE message_key = ? ORDER BY id').all(key) as { message: string }[]).map((e) => e.message);
  const target = (jobId: string) => host.db.prepare('SELECT state, stage, percent, log, session_hash, fetched_from, smb_credentials_at FROM clonage_targets WHERE id = ?').get(jobId) as Record<string, unknown>;

  /** Creates and arms an action of salle1; the armed plans of `machines`. */
  async function armed(type: 'report' | 'backup', machines: (keyof typeof MAC)[], params: Record<string, string> = {}) {
    const res = await fetch(`${base}/modules/clonage/actions`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-user': 'admin' },
      body: new URLSearchParams([['type', type], ['parc', 'salle1'], ...machines.map((m): [string, string] => ['machine', m]), ['auto_reboot', 'never'], ['confirm', '1'], ...Object.entries(params)]).toString(),
    });
    expect([res.status, res.status === 303 ? '' : await res.text()]).toEqual([303, '']);
    for (let i = 0; i < 100 && machines.some((m) => plans.get(Mac.parse(MAC[m]))?.kind !== 'job'); i++) await new Promise((r) => setTimeout(r, 50));
    return machines.map((m) => {
      const p = plans.get(Mac.parse(MAC[m]));
      if (p?.kind !== 'job') throw new Error(`${m}: no armed job`);
      return { jobId: p.jobId, token: p.token };
    });
  }

  it('the boot files that carry a token go only to the reserved address (HTTP and TFTP); a stranger gets a local boot and the action an event', async () => {
    const [j] = await armed('report', ['pc01']);
    const ipxe = (local: string) => from(local, `${base}/modules/clonage/boot/ipxe?mac=${MAC.pc01}`);
    expect((await ipxe(PC.pc01)).text).toContain(`clonage.token=${j.token}`);
    const stolen = await ipxe(STRANGER);
    expect(stolen.status).toBe(200);
    expect(stolen.text).not.toContain(j.token);
    expect(stolen.text).toContain('boot plan "local"');
    const cfg = `pxelinux.cfg/01-${MAC.pc01.replace(/:/g, '-')}`;
    expect(await tftpGet(tftpPort, cfg, PC.pc01)).toContain(`clonage.token=${j.token}`);
    const viaTftp = await tftpGet(tftpPort, cfg, STRANGER);
    expect(typeof viaTftp === 'string' && !viaTftp.includes(j.token)).toBe(true);
    expect(events('event.agent.bootFile')).toEqual([
      `pc01: the job's boot file was asked by ${STRANGER} instead of ${PC.pc01} (http): a local boot was served`,
      `pc01: the job's boot file was asked by ${STRANGER} instead of ${PC.pc01} (tftp): a local boot was served`,
    ]);
    expect(target(j.jobId).state).toBe('armed');
    // The token alone, from the wrong address: refused, logged, shown; the job stays for its PC.
    const fetchedByStranger = await from(STRANGER, api(j.jobId), { headers: { authorization: `Bearer ${j.token}` } });
    expect([fetchedByStranger.status, fetchedByStranger.session]).toEqual([403, undefined]);
    expect(events('event.agent.wrongAddress')).toEqual([`pc01: agent call (fetch) refused from ${STRANGER}, expected ${PC.pc01}`]);
    expect(host.logger.lines.some((l) => l.includes('agent call refused') && l.includes(STRANGER))).toBe(true);
    expect(target(j.jobId).state).toBe('armed');
    const own = await from(PC.pc01, api(j.jobId), { headers: { authorization: `Bearer ${j.token}` } });
    expect(own.status).toBe(200);
    expect(own.session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const done = await from(PC.pc01, api(j.jobId, '/result'), { method: 'POST', headers: { 'x-clonage-session': own.session!, 'content-type': 'application/x-www-form-urlencoded' }, body: 'status=succeeded&exit_code=0' });
    expect(done.status).toBe(200);
  });

  it('a second reader of the boot file cannot use progress, log, result, report, image or smb-credentials calls', async () => {
    host.settings.set('smb.server', '127.0.0.1');
    host.settings.set('smb.share', 'images');
    host.settings.set('smb.user', 'clonage');
    host.settings.set('smb.password', 'S3cret-smb-pw');
    const [b] = await armed('backup', ['pc02'], { disk: 'sda', image: 'img_s', store: 'smb' });
    const fetched = await from(PC.pc02, api(b.jobId), { headers: { authorization: `Bearer ${b.token}` } });
    expect(fetched.status).toBe(200);
    const session = fetched.session!;
    // The job text and every stored column hold no session in clear; only its SHA-256.
    expect(fetched.text).not.toContain(session);
    const dump = JSON.stringify(host.db.prepare('SELECT * FROM clonage_targets').all()) + JSON.stringify(host.db.prepare('SELECT * FROM clonage_events').all());
    expect(dump).not.toContain(session);
    expect(target(b.jobId).fetched_from).toBe(PC.pc02);

    const calls: [string, string, string?, string?][] = [
      ['POST', '/progress', 'application/x-www-form-urlencoded', 'stage=x&percent=1'],
      ['POST', '/log', 'text/plain', 'forged'],
      ['POST', '/report', 'text/plain', '[disk]\nforged\n'],
      ['PUT', '/image/table.sfdisk', 'application/octet-stream', 'x'],
      ['POST', '/image/commit', 'text/plain', 'clonage-image 1\n'],
      ['GET', '/image/smb-credentials'],
      ['POST', '/result', 'application/x-www-form-urlencoded', 'status=succeeded&exit_code=0'],
    ];
    const before = target(b.jobId);
    for (const [method, suffix, type, body] of calls) {
      const headers = (secret: Record<string, string>) => ({ ...secret, ...(type ? { 'content-type': type } : {}), 'x-sha256': '0'.repeat(64) });
      // The boot file's token, from the PC's own address or from elsewhere: refused.
      for (const local of [PC.pc02, STRANGER]) {
        const r = await from(local, api(b.jobId, suffix), { method, headers: headers({ authorization: `Bearer ${b.token}` }), body });
        expect({ suffix, local, status: r.status }).toEqual({ suffix, local, status: 403 });
      }
      const guessed = await from(PC.pc02, api(b.jobId, suffix), { method, headers: headers({ 'x-clonage-session': 'A'.repeat(43) }), body });
      expect({ suffix, status: guessed.status }).toEqual({ suffix, status: 403 });
      // The right session from another address: refused too.
      const moved = await from(STRANGER, api(b.jobId, suffix), { method, headers: headers({ 'x-clonage-session': session }), body });
      expect({ suffix, status: moved.status }).toEqual({ suffix, status: 403 });
    }
    expect(target(b.jobId)).toEqual(before);
    expect(host.db.prepare('SELECT COUNT(*) AS n FROM clonage_reports').get()).toEqual({ n: 0 });
    expect(events('event.agent.bootToken').length).toBeGreaterThan(0);
    expect(events('event.agent.wrongAddress').some((m) => m.startsWith(`pc02: agent call (progress) refused from ${STRANGER}`))).toBe(true);

    // The real agent (its session, its address) goes on; the SMB account is given once.
    const mine = { 'x-clonage-session': session };
    expect((await from(PC.pc02, api(b.jobId, '/progress'), { method: 'POST', headers: { ...mine, 'content-type': 'application/x-www-form-urlencoded' }, body: 'stage=saving&percent=5' })).status).toBe(204);
    const creds = await from(PC.pc02, api(b.jobId, '/image/smb-credentials'), { headers: mine });
    expect(creds.status).toBe(200);
    expect(creds.text).toContain('password=S3cret-smb-pw');
    const again = await from(PC.pc02, api(b.jobId, '/image/smb-credentials'), { headers: mine });
    expect(again.status).toBe(409);
    expect(again.text).not.toContain('S3cret');
    expect(events('event.agent.smbAgain')).toEqual([`pc02: the SMB share account was asked again from ${PC.pc02}: refused`]);
    expect((await from(PC.pc02, api(b.jobId, '/result'), { method: 'POST', headers: { ...mine, 'content-type': 'application/x-www-form-urlencoded' }, body: 'status=failed&exit_code=1' })).status).toBe(200);
    expect(target(b.jobId).state).toBe('failed');
  });

  it('per-job caps: reports, stage events and log bytes past the cap are 413 with an event; what was accepted stays', async () => {
    const [j] = await armed('report', ['pc03']);
    const fetched = await from(PC.pc03, api(j.jobId), { headers: { authorization: `Bearer ${j.token}` } });
    const mine = { 'x-clonage-session': fetched.session! };
    const text = { ...mine, 'content-type': 'text/plain' };
    const form = { ...mine, 'content-type': 'application/x-www-form-urlencoded' };
    const report = `[disk]\n${'r'.repeat(1000)}\n`;
    for (let i = 0; i < JOB_CAPS.reports; i++) expect((await from(PC.pc03, api(j.jobId, '/report'), { method: 'POST', headers: text, body: report })).status).toBe(204);
    expect((await from(PC.pc03, api(j.jobId, '/report'), { method: 'POST', headers: text, body: report })).status).toBe(413);
    expect(host.db.prepare('SELECT COUNT(*) AS n FROM clonage_reports WHERE target_id = ?').get(j.jobId)).toEqual({ n: JOB_CAPS.reports });
    expect(events('event.agent.capReports')).toEqual([`pc03: limit of ${JOB_CAPS.reports} reports per job reached, further ones are refused`]);

    const chunk = 'l'.repeat(60 * 1024);
    let sent = 0;
    let status = 204;
    for (let i = 0; i < 100 && status === 204; i++) {
      status = (await from(PC.pc03, api(j.jobId, '/log'), { method: 'POST', headers: text, body: chunk })).status;
      if (status === 204) sent += chunk.length;
    }
    expect(status).toBe(413);
    expect(sent).toBeLessThanOrEqual(JOB_CAPS.logBytes);
    expect(sent + chunk.length).toBeGreaterThan(JOB_CAPS.logBytes);
    expect(String(target(j.jobId).log).length).toBe(64 * 1024); // the tail of what was accepted
    expect(events('event.agent.capLog')).toHaveLength(1);

    const stages = () => (host.db.prepare('SELECT COUNT(*) AS n FROM clonage_events WHERE target_id = ?').get(j.jobId) as { n: number }).n;
    status = 204;
    for (let i = 0; i < JOB_CAPS.events + 5 && status === 204; i++) {
      status = (await from(PC.pc03, api(j.jobId, '/progress'), { method: 'POST', headers: form, body: `stage=s${i}&percent=1` })).status;
    }
    expect(status).toBe(413);
    expect(stages()).toBeLessThanOrEqual(JOB_CAPS.events + MAX_REFUSAL_EVENTS);
    expect(events('event.agent.capEvents')).toHaveLength(1);
    // A progress that adds no event still goes through, and the job can finish.
    const last = String(target(j.jobId).stage);
    expect((await from(PC.pc03, api(j.jobId, '/progress'), { method: 'POST', headers: form, body: `stage=${last}&percent=99` })).status).toBe(204);
    expect((await from(PC.pc03, api(j.jobId, '/result'), { method: 'POST', headers: form, body: 'status=succeeded&exit_code=0' })).status).toBe(200);
  });

  it('refusal events are bounded per job', async () => {
    const [j] = await armed('report', ['pc01']);
    for (let i = 0; i < MAX_REFUSAL_EVENTS + 10; i++) {
      await from(`127.0.1.${i + 1}`, api(j.jobId), { headers: { authorization: `Bearer ${j.token}` } });
    }
    const n = (host.db.prepare("SELECT COUNT(*) AS n FROM clonage_events WHERE target_id = ? AND message_key LIKE 'event.agent.%'").get(j.jobId) as { n: number }).n;
    expect(n).toBe(MAX_REFUSAL_EVENTS);
    expect(target(j.jobId).state).toBe('armed');
  });
});
