/**
 * Server-level faults handled by the REAL shell's own periodic tick (every second of real time here: `action.checkIntervalSeconds`),
 * with a fake clock moved past the limits:
 *  - an emitter that never acknowledges (Windows-domain clone, emitter.ackTimeoutMinutes = 1):
 *    the action fails, no plan is ever armed, the scripts are removed, a late ack changes nothing;
 *  - a receiver lost mid-transfer: it alone fails after the silence timeout, the others succeed;
 *  - a sender lost: the receivers that never started fail with it and lose their plans.
 * Late calls from the lost agents are 410 and change nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  actionState, agent, allBootFiles, Client, createAction, emitterScripts, FAST_TICK, FakeClock, installFakeToolkit, jobOf, raw, removedEvent,
  type RestartableShell, scriptsWritten, snapshot, startShellOn, targetStates, until,
} from '../helpers/hostile';
import { expectUnchanged } from '../helpers/unchanged';

const MAC: Record<string, string> = {
  's101-pc01': '52:54:00:12:00:0b', 's101-pc02': '52:54:00:12:00:0c', 's101-pc03': '52:54:00:12:00:0d',
  'cdi-pc01': '52:54:00:12:00:17', 'cdi-pc02': '52:54:00:12:00:18', 'cdi-pc04': '52:54:00:12:00:1a', 'cdi-pc05': '52:54:00:12:00:1b',
};
const M = '/modules/clonage';

describe('timeouts applied by the running shell: emitter never acknowledging, receiver or sender lost', () => {
  const clock = new FakeClock();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-faults-'));
  let shell: RestartableShell;
  const ids: Record<'domain' | 'clone' | 'senderLost', string> = {} as never;
  const jobs: Record<string, { jobId: string; token: string }> = {};
  let ackToken = '';
  const progress = (n: string, percent: string) =>
    agent(shell.url, 'POST', `${jobs[n].jobId}/progress`, jobs[n].token, { form: { stage: 'transfer', percent } });

  beforeAll(async () => {
    installFakeToolkit(dataDir);
    shell = await startShellOn(dataDir, clock, { ...FAST_TICK, 'emitter.ackTimeoutMinutes': 1 });
    const admin = await Client.as(shell.url, 'admin');
    ids.domain = await createAction(admin, { type: 'clone', parc: 'cdi', emitter: 'cdi-pc01', machine: ['cdi-pc02'], domain: 'windows-domain' });
    await until(() => scriptsWritten(shell.db, ids.domain), 'emitter scripts', 20_000);
    ackToken = emitterScripts(shell.dataDir, 'cdi-pc01')!.ackToken;
    ids.clone = await createAction(admin, { type: 'clone', parc: 'salle101', emitter: 's101-pc01', machine: ['s101-pc02', 's101-pc03'] });
    await until(() => Object.values(targetStates(shell.db, ids.clone)).every((s) => s === 'armed'), 'clone armed', 20_000);
    ids.senderLost = await createAction(admin, { type: 'clone', parc: 'cdi', emitter: 'cdi-pc04', machine: ['cdi-pc05'] });
    await until(() => Object.values(targetStates(shell.db, ids.senderLost)).every((s) => s === 'armed'), 'second clone armed', 20_000);
    for (const n of ['s101-pc01', 's101-pc02', 's101-pc03', 'cdi-pc04', 'cdi-pc05']) jobs[n] = await jobOf(shell.url, MAC[n]);
    for (const n of ['s101-pc01', 's101-pc02', 's101-pc03', 'cdi-pc04']) expect((await agent(shell.url, 'GET', jobs[n].jobId, jobs[n].token)).status).toBe(200);
    for (const n of ['s101-pc01', 's101-pc02', 's101-pc03']) expect((await progress(n, '1')).status).toBe(204);
    // Every 4 minutes for 36 minutes, two of the three clone agents report new figures; s101-pc03
    // stays silent in its transfer (5 minutes: the active limit), the cdi-pc04 sender never said
    // anything (30 minutes: the long limit, before a first stage).
    for (let step = 1; step <= 9; step++) {
      clock.advanceMinutes(4);
      for (const n of ['s101-pc01', 's101-pc02']) expect((await progress(n, String(step * 10))).status).toBe(204);
    }
    // the next periodic tick (≤ 1 s of real time) sees: 36 min of silence > 30, preparing for 36 min > 1
    await until(() => targetStates(shell.db, ids.clone)['s101-pc03'] === 'failed' && actionState(shell.db, ids.domain) === 'failed'
      && actionState(shell.db, ids.senderLost) === 'failed', 'the periodic tick', 25_000);
    await until(() => removedEvent(shell.db, ids.domain), 'scripts removed', 10_000);
  }, 90_000);

  afterAll(async () => {
    await shell?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the emitter that never acknowledged: action failed with the reason, no plan ever armed, scripts removed', () => {
    expect(targetStates(shell.db, ids.domain)).toEqual({ 'cdi-pc01': 'failed', 'cdi-pc02': 'failed' });
    const error = (shell.db.prepare('SELECT error FROM clonage_actions WHERE id = ?').get(ids.domain) as { error: string }).error;
    expect(error).toMatch(/emitter preparation took more than 1 minutes/);
    const armedEver = shell.db.prepare("SELECT COUNT(*) AS n FROM clonage_events WHERE action_id = ? AND message LIKE '%armed%'").get(ids.domain);
    expect(armedEver).toEqual({ n: 0 });
    expect(emitterScripts(shell.dataDir, 'cdi-pc01')).toBeNull();
    expect(fs.existsSync(path.join(shell.dataDir, 'modules/clonage/netlogon/machine/cdi-pc01'))).toBe(false);
  });

  it('a late acknowledgement with the right token is refused and arms nothing', async () => {
    const before = snapshot(shell);
    const r = await raw(shell.url, 'POST', `${M}/api/emitter/ack?action=${ids.domain}`, { headers: { authorization: `Bearer ${ackToken}` } });
    expect(r.status).toBe(409);
    expectUnchanged(snapshot(shell), before);
  });

  it('the lost receiver failed alone; the sender and the other receiver finish and succeed', async () => {
    expect(targetStates(shell.db, ids.clone)).toEqual({ 's101-pc01': 'running', 's101-pc02': 'running', 's101-pc03': 'failed' });
    const msgs = (shell.db.prepare('SELECT message FROM clonage_events WHERE target_id = ? ORDER BY id').all(jobs['s101-pc03'].jobId) as { message: string }[]).map((e) => e.message);
    // The silence, then (it got bytes) its PC kept off its partly written disk.
    expect(msgs.slice(-2)).toEqual([expect.stringMatching(/no news from the agent for 5 minutes; last known: stage transfer, 1%/),
      expect.stringMatching(/^s101-pc03: disk partly written; the PC no longer boots it/)]);
    for (const n of ['s101-pc02', 's101-pc01']) {
      const r = await agent(shell.url, 'POST', `${jobs[n].jobId}/result`, jobs[n].token, { form: { status: 'succeeded', exit_code: '0' } });
      expect([n, r.status, r.text]).toEqual([n, 200, 'reboot=always\n']);
    }
    expect(targetStates(shell.db, ids.clone)).toEqual({ 's101-pc01': 'succeeded', 's101-pc02': 'succeeded', 's101-pc03': 'failed' });
    expect(actionState(shell.db, ids.clone)).toBe('failed'); // finished, with one failure
  });

  it('the lost receiver coming back late is gone (410) whatever it sends, and changes nothing', async () => {
    const j = jobs['s101-pc03'];
    const before = snapshot(shell);
    expect((await agent(shell.url, 'GET', j.jobId, j.token)).status).toBe(410);
    expect((await progress('s101-pc03', '99')).status).toBe(410);
    expect((await agent(shell.url, 'POST', `${j.jobId}/log`, j.token, { body: 'late', headers: { 'content-type': 'text/plain' } })).status).toBe(410);
    expect((await agent(shell.url, 'POST', `${j.jobId}/result`, j.token, { form: { status: 'succeeded' } })).status).toBe(410);
    expectUnchanged(snapshot(shell), before);
  });

  it('the lost sender failed, and with it the receiver that had not started: its plan is gone', async () => {
    expect(targetStates(shell.db, ids.senderLost)).toEqual({ 'cdi-pc04': 'failed', 'cdi-pc05': 'failed' });
    expect((await agent(shell.url, 'GET', jobs['cdi-pc05'].jobId, jobs['cdi-pc05'].token)).status).toBe(410);
  });

  it('no boot file serves a job any more: lost PCs that reboot boot the menu, or the incomplete-disk screen when they got bytes', async () => {
    const files = await allBootFiles(shell);
    expect(Object.entries(files).filter(([, t]) => t.includes('clonage.token=')).map(([n]) => n)).toEqual([]);
    const lost = files[`pxelinux.cfg/01-${MAC['s101-pc03'].replace(/:/g, '-')}`];
    expect(lost).toMatch(/boot plan "incomplete"/);
    expect(lost).not.toMatch(/chain\.c32|LOCALBOOT/);
    expect(shell.db.prepare("SELECT kind, COUNT(*) AS n FROM clonage_boot_plans WHERE consumed_at IS NULL GROUP BY kind").all()).toEqual([{ kind: 'incomplete', n: 1 }]);
  });
});
