/**
 * Server-level faults: the REAL shell is stopped in the middle of actions and a new one is started
 * on the same data directory (SE3 §7: stale PXE files, lost reports, .lck files left by a crash).
 * State resumes from SQLite, boot plans exist exactly for the targets still 'armed', consumed and
 * cancelled plans never come back, agents go on with the tokens they hold, an emitter preparation
 * resumes with the same tokens, and stages that outlived their timeout fail at start (fake clock).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  actionState, agent, allBootFiles, Client, createAction, emitterScripts, FAST_TICK, FakeClock, installFakeToolkit, jobOf, moduleSettings, raw,
  type RestartableShell, scriptsWritten, startShellOn, targetStates, until,
} from '../helpers/hostile';

const MAC: Record<string, string> = {
  's101-pc01': '52:54:00:12:00:0b', 's101-pc02': '52:54:00:12:00:0c', 's101-pc03': '52:54:00:12:00:0d', 's101-pc04': '52:54:00:12:00:0e', 's101-pc05': '52:54:00:12:00:0f',
  'cdi-pc01': '52:54:00:12:00:17', 'cdi-pc02': '52:54:00:12:00:18', 'cdi-pc04': '52:54:00:12:00:1a', 'cdi-pc05': '52:54:00:12:00:1b',
};
const M = '/modules/clonage';

/** MACs with an unconsumed plan, and MACs of targets in state 'armed': the same set, always. */
function armedInvariant(shell: RestartableShell): { plans: string[]; armedTargets: string[] } {
  const plans = (shell.db.prepare('SELECT mac FROM clonage_boot_plans WHERE consumed_at IS NULL ORDER BY mac').all() as { mac: string }[]).map((r) => r.mac);
  const armedTargets = (shell.db.prepare("SELECT mac FROM clonage_targets WHERE state = 'armed' ORDER BY mac").all() as { mac: string }[]).map((r) => r.mac);
  return { plans, armedTargets };
}

describe('shell stopped and restarted on the same data dir in the middle of actions', () => {
  const clock = new FakeClock();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-faults-'));
  let shell: RestartableShell;
  const ids: Record<'clone' | 'cancelled' | 'backup' | 'domain' | 'later', string> = {} as never;
  const jobs: Record<string, { jobId: string; token: string }> = {};

  const restart = async (minutes: number) => {
    await shell.stop();
    clock.advanceMinutes(minutes);
    shell = await startShellOn(dataDir, clock, FAST_TICK);
    expect(armedInvariant(shell).plans).toEqual(armedInvariant(shell).armedTargets);
  };

  beforeAll(async () => {
    installFakeToolkit(dataDir);
    shell = await startShellOn(dataDir, clock, { ...FAST_TICK, 'action.silenceTimeoutMinutes': 2 });
    const admin = await Client.as(shell.url, 'admin');
    // one at a time: a creation during a running tick is picked up by the next periodic tick only (≤ 1 s here)
    ids.domain = await createAction(admin, { type: 'clone', parc: 'cdi', emitter: 'cdi-pc04', machine: ['cdi-pc05'], domain: 'windows-domain' });
    await until(() => scriptsWritten(shell.db, ids.domain), 'domain emitter scripts', 20_000);
    for (const [key, form] of [
      ['clone', { type: 'clone', parc: 'salle101', emitter: 's101-pc01', machine: ['s101-pc02', 's101-pc03'] }],
      ['cancelled', { type: 'clone', parc: 'cdi', emitter: 'cdi-pc01', machine: ['cdi-pc02'] }],
      ['backup', { type: 'backup', parc: 'salle101', machine: ['s101-pc04'] }],
    ] as const) {
      ids[key] = await createAction(admin, form);
      await until(() => Object.values(targetStates(shell.db, ids[key])).every((st) => st === 'armed'), `${key} armed`, 20_000);
    }
    const in2h = new Date(clock.now().getTime() + 2 * 3600_000).toISOString();
    ids.later = await createAction(admin, { type: 'report', parc: 'salle101', machine: ['s101-pc05'], start: 'at', start_at: in2h });
    for (const n of ['s101-pc01', 's101-pc02', 's101-pc03', 's101-pc04']) jobs[n] = await jobOf(shell.url, MAC[n]);
    for (const n of ['s101-pc02', 's101-pc04']) expect((await agent(shell.url, 'GET', jobs[n].jobId, jobs[n].token)).status).toBe(200);
    expect((await admin.send('POST', `${M}/actions/${ids.cancelled}/cancel`, { form: {} })).status).toBe(303);
    expect(armedInvariant(shell).plans).toEqual([MAC['s101-pc01'], MAC['s101-pc03']]);
  }, 60_000);

  afterAll(async () => {
    await shell?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('after a restart 5 minutes later: the same states, plans only for armed targets, a short silence timeout applied', async () => {
    const before = (id: string) => targetStates(shell.db, id);
    const states = { clone: before(ids.clone), cancelled: before(ids.cancelled), domain: before(ids.domain), later: before(ids.later) };
    await restart(5);
    expect(targetStates(shell.db, ids.clone)).toEqual(states.clone);
    expect(targetStates(shell.db, ids.cancelled)).toEqual(states.cancelled);
    expect(targetStates(shell.db, ids.domain)).toEqual({ 'cdi-pc04': 'preparing', 'cdi-pc05': 'preparing' });
    expect(targetStates(shell.db, ids.later)).toEqual(states.later);
    expect(actionState(shell.db, ids.later)).toBe('scheduled');
    // The backup agent was silent longer than action.silenceTimeoutMinutes (2), but it may be
    // riding out the restart (it retries its calls): its silence counts from the restart.
    expect(targetStates(shell.db, ids.backup)).toEqual({ 's101-pc04': 'running' });
    clock.advanceMinutes(3);
    await until(() => targetStates(shell.db, ids.backup)['s101-pc04'] === 'failed', 'the backup failed 2 minutes after the restart', 30_000);
    expect(armedInvariant(shell).plans).toEqual([MAC['s101-pc01'], MAC['s101-pc03']]);
  });

  it('no boot file serves a consumed, cancelled, failed or not-yet-armed job', async () => {
    const files = await allBootFiles(shell);
    const jobIn = (mac: string) => files[`pxelinux.cfg/01-${mac.replace(/:/g, '-')}`].includes('clonage.token=');
    const withJob = Object.keys(MAC).filter((n) => jobIn(MAC[n]));
    expect(withJob).toEqual(['s101-pc01', 's101-pc03']);
    for (const n of ['s101-pc02', 's101-pc04']) expect(files[`pxelinux.cfg/01-${MAC[n].replace(/:/g, '-')}`]).toMatch(/boot plan "local"/);
    expect(files[`ipxe?mac=${MAC['s101-pc01']}`]).toContain(`clonage.token=${jobs['s101-pc01'].token}`); // the token the PC may already hold
  });

  it('agents go on with the tokens they hold: the clone finishes after the restart', async () => {
    const j = jobs;
    expect((await agent(shell.url, 'POST', `${j['s101-pc02'].jobId}/progress`, j['s101-pc02'].token, { form: { stage: 'receiving', percent: '40' } })).status).toBe(204);
    expect((await agent(shell.url, 'GET', j['s101-pc04'].jobId, j['s101-pc04'].token)).status).toBe(410); // failed: gone
    for (const n of ['s101-pc01', 's101-pc03']) expect((await agent(shell.url, 'GET', j[n].jobId, j[n].token)).status).toBe(200);
    for (const n of ['s101-pc02', 's101-pc03', 's101-pc01']) {
      const r = await agent(shell.url, 'POST', `${j[n].jobId}/result`, j[n].token, { form: { status: 'succeeded', exit_code: '0' } });
      expect(r.text).toBe('reboot=always\n');
    }
    expect(actionState(shell.db, ids.clone)).toBe('succeeded');
    expect(armedInvariant(shell).plans).toEqual([]);
  });

  it('an emitter preparation resumes with the same tokens; only its acknowledgement arms the plans', async () => {
    const scripts = emitterScripts(shell.dataDir, 'cdi-pc04')!;
    expect(scripts).not.toBeNull();
    await restart(1);
    expect(emitterScripts(shell.dataDir, 'cdi-pc04')?.ackToken).toBe(scripts.ackToken); // nothing rewritten
    expect(armedInvariant(shell).plans).toEqual([]);
    const ack = await raw(shell.url, 'POST', `${M}/api/emitter/ack?action=${ids.domain}`, { headers: { authorization: `Bearer ${scripts.ackToken}` } });
    expect(ack.status).toBe(200);
    await until(() => Object.values(targetStates(shell.db, ids.domain)).every((s) => s === 'armed'), 'armed after the ack', 20_000);
    expect(armedInvariant(shell).plans).toEqual([MAC['cdi-pc04'], MAC['cdi-pc05']]);
  });

  it('down longer than the armed timeout: the targets that never fetched fail at start and their plans go', async () => {
    moduleSettings(shell.db).set('action.armedTimeoutMinutes', 30);
    await restart(31);
    expect(targetStates(shell.db, ids.domain)).toEqual({ 'cdi-pc04': 'failed', 'cdi-pc05': 'failed' });
    expect(actionState(shell.db, ids.domain)).toBe('failed');
    expect(armedInvariant(shell)).toEqual({ plans: [], armedTargets: [] });
    expect(actionState(shell.db, ids.later)).toBe('scheduled'); // not due yet (2 h)
  });

  it('a scheduled action missed during downtime starts once at the next start, and only then gets its plan', async () => {
    await restart(120);
    await until(() => actionState(shell.db, ids.later) === 'armed', 'the missed action armed by the first tick', 20_000);
    expect(armedInvariant(shell)).toEqual({ plans: [MAC['s101-pc05']], armedTargets: [MAC['s101-pc05']] });
    // Its wake-up is still sending (3 packets, apart): the shell's stop does not wait for it, and
    // its UDP socket and timer would outlive the suite (a jest worker then fails to exit).
    await until(() => shell.logLines.some((l) => /"msg":"wake (sent|failed)","machine":"s101-pc05"/.test(l)), 's101-pc05 woken', 20_000);
    expect(shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual({ n: 5 }); // started once, not duplicated
  });
});
