import { ConflictError, ForbiddenError, InputError, NotFoundError, UnauthorizedError } from '../../src/common/domain/errors';
import { Mac } from '../../src/common/domain/mac';
import { GoneError, lastBytes } from '../../src/agent/agent-jobs';
import { hashToken, tokenMatches } from '../../src/agent/job-identity';
import { actionState, admin, armedJob, cloneInput, dbSnapshot, MACS, rig, type Rig, targetOf } from '../helpers/actions-fixtures';
import { expectUnchanged } from '../helpers/unchanged';

describe('agent calls', () => {
  let r: Rig;
  let actionId: string;
  beforeEach(async () => {
    r = rig();
    actionId = (await r.service.create(admin, cloneInput())).id;
    await r.scheduler.tick(r.host.clock.now());
  });
  afterEach(() => r.host.cleanup());

  it('stores only the SHA-256 of each token; the cleartext is in the armed plan only', () => {
    const { jobId, token } = armedJob(r.bootPlans, 'pc02');
    const row = targetOf(r.host, jobId);
    expect(row.token_hash).toBe(hashToken(token));
    const everything = JSON.stringify(r.host.db.prepare('SELECT * FROM clonage_targets').all()) +
      JSON.stringify(r.host.db.prepare('SELECT * FROM clonage_events').all()) +
      JSON.stringify(r.host.db.prepare('SELECT * FROM clonage_actions').all());
    expect(everything).not.toContain(token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('fetch: answers the job, consumes the plan and runs the target, in one step', () => {
    const { jobId, token } = armedJob(r.bootPlans, 'pc01');
    const body = r.agents.fetchJob(jobId, token);
    expect(body).toContain(`job=${jobId}\nrole=sender\n`);
    expect(body).toContain('port=9002\n');
    for (const line of body.trim().split('\n')) expect(line).toMatch(/^[a-z_]+=[A-Za-z0-9._:/,@+-]*$/);
    expect(r.bootPlans.get(Mac.parse(MACS.pc01))).toBeNull();
    expect(r.bootPlans.planFor(Mac.parse(MACS.pc01)).kind).toBe('local');
    expect(targetOf(r.host, jobId).state).toBe('running');
    expect(actionState(r.host, actionId)).toBe('running');
  });

  it.each<[string, (j: { jobId: string; token: string }) => [string, string | undefined], new (...a: never[]) => Error]>([
    ['missing token', (j) => [j.jobId, undefined], UnauthorizedError],
    ['empty token', (j) => [j.jobId, ''], UnauthorizedError],
    ['malformed token', (j) => [j.jobId, 'short'], UnauthorizedError],
    ['wrong token', (j) => [j.jobId, 'A'.repeat(43)], ForbiddenError],
    ["another job's token", (j) => [j.jobId, 'OTHER'], ForbiddenError],
    ['unknown job', (j) => ['j_doesnotexist', j.token], NotFoundError],
    ['bad job id', (j) => ['../../etc', j.token], NotFoundError],
  ])('fetch refused (%s): nothing changes', (_label, args, type) => {
    const job = armedJob(r.bootPlans, 'pc02');
    const other = armedJob(r.bootPlans, 'pc03');
    const [jobId, token] = args(job);
    const before = dbSnapshot(r.host);
    expect(() => r.agents.fetchJob(jobId, token === 'OTHER' ? other.token : token)).toThrow(type);
    expectUnchanged(dbSnapshot(r.host), before);
  });

  it('a second fetch is a conflict (409): nothing changes but one warning event on the action', () => {
    const { jobId, token } = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(jobId, token);
    const before = dbSnapshot(r.host) as { events: unknown[] };
    expect(() => r.agents.fetchJob(jobId, token)).toThrow(ConflictError);
    expect(() => r.agents.fetchJob(jobId, token)).not.toThrow(GoneError);
    const after = dbSnapshot(r.host) as { events: Record<string, unknown>[] };
    // The boot file was read by someone else: shown on the action's page, once (deduplicated).
    expect(after.events.slice(before.events.length).map((e) => [e.level, e.message_key, e.message])).toEqual([
      ['warn', 'event.agent.secondFetch', 'pc02: a second fetch of the job was refused from 10.0.0.12 (already fetched from 10.0.0.12)'],
    ]);
    expect({ ...after, events: before.events }).toEqual(before);
  });

  it('progress and log need a running target; numbers are validated', () => {
    const { jobId, token } = armedJob(r.bootPlans, 'pc02');
    expect(() => r.agents.progress(jobId, token, { percent: '5' })).toThrow(ConflictError);
    r.agents.fetchJob(jobId, token);
    r.agents.progress(jobId, token, { stage: 'receiving', percent: '42.5', bytes: '1048576', rate_kbps: '81920' });
    expect(targetOf(r.host, jobId)).toMatchObject({ stage: 'receiving', percent: 42.5, bytes: 1048576, rate_kbps: 81920 });
    for (const bad of [{ percent: '101' }, { percent: '-1' }, { bytes: '1.5' }, { rate_kbps: 'fast' }, { stage: 'Bad Stage' }, { percent: ['1', '2'] }]) {
      const before = dbSnapshot(r.host);
      expect(() => r.agents.progress(jobId, token, bad)).toThrow(InputError);
      expectUnchanged(dbSnapshot(r.host), before);
    }
  });

  it('log: at most 64 KiB per call, stored as the last 64 KiB', () => {
    const { jobId, token } = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(jobId, token);
    expect(() => r.agents.log(jobId, token, 'x'.repeat(64 * 1024 + 1))).toThrow(InputError);
    r.agents.log(jobId, token, `${'a'.repeat(40 * 1024)}\n`);
    r.agents.log(jobId, token, `${'b'.repeat(40 * 1024)}\u0000\n`);
    const log = String(targetOf(r.host, jobId).log);
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(64 * 1024);
    expect(log.endsWith(`${'b'.repeat(40 * 1024)}\n`)).toBe(true);
    expect(log).not.toContain('\u0000');
    expect(lastBytes('ééé', 3)).toBe('é');
  });

  it('results: target and action states follow, reboot line by policy, replay is gone (410)', () => {
    const jobs = ['pc01', 'pc02', 'pc03'].map((n) => armedJob(r.bootPlans, n));
    for (const j of jobs) r.agents.fetchJob(j.jobId, j.token);
    expect(r.agents.result(jobs[1].jobId, jobs[1].token, { status: 'succeeded', exit_code: '0' })).toBe('reboot=always\n');
    expect(actionState(r.host, actionId)).toBe('running');
    r.agents.result(jobs[0].jobId, jobs[0].token, { status: 'succeeded', exit_code: '0' });
    r.agents.result(jobs[2].jobId, jobs[2].token, { status: 'succeeded', exit_code: '0', message: 'done\nrole=x' });
    expect(actionState(r.host, actionId)).toBe('succeeded');
    expect(targetOf(r.host, jobs[2].jobId)).toMatchObject({ state: 'succeeded', exit_code: 0, message: 'done role=x' });
    const before = dbSnapshot(r.host);
    expect(() => r.agents.fetchJob(jobs[0].jobId, jobs[0].token)).toThrow(GoneError);
    expect(() => r.agents.result(jobs[0].jobId, jobs[0].token, { status: 'failed' })).toThrow(GoneError);
    expect(() => r.agents.log(jobs[0].jobId, jobs[0].token, 'late')).toThrow(GoneError);
    expect(() => r.agents.fetchJob(jobs[0].jobId, 'A'.repeat(43))).toThrow(ForbiddenError);
    expectUnchanged(dbSnapshot(r.host), before);
  });

  it('results carry how the PC booted: firmware and Secure Boot state kept on the target and shown as an event of that PC', () => {
    const jobs = ['pc01', 'pc02', 'pc03'].map((n) => armedJob(r.bootPlans, n));
    for (const j of jobs) r.agents.fetchJob(j.jobId, j.token);
    expect(() => r.agents.result(jobs[0].jobId, jobs[0].token, { status: 'succeeded', firmware: 'efi' })).toThrow(InputError);
    expect(() => r.agents.result(jobs[0].jobId, jobs[0].token, { status: 'succeeded', firmware: 'uefi', secure_boot: 'yes' })).toThrow(InputError);
    r.agents.result(jobs[0].jobId, jobs[0].token, { status: 'succeeded', exit_code: '0', firmware: 'uefi', secure_boot: 'on' });
    r.agents.result(jobs[1].jobId, jobs[1].token, { status: 'succeeded', exit_code: '0', firmware: 'bios', secure_boot: 'on' });
    r.agents.result(jobs[2].jobId, jobs[2].token, { status: 'succeeded', exit_code: '0' }); // an older agent: nothing shown
    const rows = r.host.db.prepare("SELECT message, message_key FROM clonage_events WHERE message LIKE '%Secure Boot%' ORDER BY id").all();
    expect(rows).toEqual([
      { message: 'pc01: firmware UEFI, Secure Boot: on', message_key: 'event.agent.firmware' },
      { message: 'pc02: firmware BIOS, Secure Boot: off', message_key: 'event.agent.firmware' },
    ]);
    const boot = (j: { jobId: string }) => r.host.db.prepare('SELECT firmware, secure_boot FROM clonage_targets WHERE id = ?').get(j.jobId);
    expect(jobs.map(boot)).toEqual([{ firmware: 'uefi', secure_boot: 'on' }, { firmware: 'bios', secure_boot: 'off' }, { firmware: null, secure_boot: null }]);
  });

  it('a failed sender fails every receiver that has not got everything: waiting (plan disarmed) or running (then 410)', () => {
    const sender = armedJob(r.bootPlans, 'pc01');
    const early = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(sender.jobId, sender.token);
    r.agents.fetchJob(early.jobId, early.token);
    r.agents.progress(early.jobId, early.token, { stage: 'transfer', percent: '40', bytes: '4000' });
    expect(r.agents.result(sender.jobId, sender.token, { status: 'failed', exit_code: '8', message: 'udp-sender exit 1' })).toBe('reboot=always\n');
    const late = r.host.db.prepare("SELECT state FROM clonage_targets WHERE name = 'pc03'").get() as { state: string };
    expect(late.state).toBe('failed');
    expect(r.bootPlans.get(Mac.parse(MACS.pc03))).toBeNull();
    expect(targetOf(r.host, early.jobId)).toMatchObject({ state: 'failed' });
    expect(() => r.agents.progress(early.jobId, early.token, { stage: 'transfer', percent: '41', bytes: '4100' })).toThrow(GoneError);
    expect(actionState(r.host, actionId)).toBe('failed');
    const events = r.host.db.prepare('SELECT message FROM clonage_events WHERE target_id = ?').all(early.jobId) as { message: string }[];
    expect(events.map((e) => e.message).filter((m) => m.includes('the sender failed'))).toHaveLength(1);
  });

  it('a receiver that said done finishes on its own when the sender fails at the very end', () => {
    const [sender, r2, r3] = (['pc01', 'pc02', 'pc03'] as const).map((n) => armedJob(r.bootPlans, n));
    for (const j of [sender, r2, r3]) r.agents.fetchJob(j.jobId, j.token);
    r.agents.progress(r2.jobId, r2.token, { stage: 'done', percent: '100', bytes: '9000' });
    r.agents.result(sender.jobId, sender.token, { status: 'failed', exit_code: '8' });
    expect([targetOf(r.host, r2.jobId).state, targetOf(r.host, r3.jobId).state]).toEqual(['running', 'failed']);
    r.agents.result(r2.jobId, r2.token, { status: 'succeeded', exit_code: '0' });
    expect(targetOf(r.host, r2.jobId).state).toBe('succeeded');
  });

  it('the receivers a sender names as dropped fail at once with that reason; the others go on', () => {
    const [sender, r2, r3] = (['pc01', 'pc02', 'pc03'] as const).map((n) => armedJob(r.bootPlans, n));
    for (const j of [sender, r2, r3]) r.agents.fetchJob(j.jobId, j.token);
    const ip3 = (targetOf(r.host, r3.jobId) as { ip: string }).ip;
    expect(() => r.agents.result(sender.jobId, sender.token, { status: 'succeeded', exit_code: '0', dropped: `${ip3},10.0.0.300` })).toThrow(InputError);
    expect(targetOf(r.host, sender.jobId).state).toBe('running');
    r.agents.result(sender.jobId, sender.token, { status: 'succeeded', exit_code: '0', dropped: ip3 });
    expect([targetOf(r.host, sender.jobId).state, targetOf(r.host, r2.jobId).state, targetOf(r.host, r3.jobId).state]).toEqual(['succeeded', 'running', 'failed']);
    const events = r.host.db.prepare('SELECT message FROM clonage_events WHERE target_id = ?').all(r3.jobId) as { message: string }[];
    expect(events.some((e) => e.message.includes('dropped by the sender: no answer during the transfer'))).toBe(true);
  });

  it('progress with the same figures is not news: only a stage, new figures or a waiting heartbeat reset the silence clock', () => {
    const j = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(j.jobId, j.token);
    const at = () => String(targetOf(r.host, j.jobId).updated_at);
    const steps: Array<[Record<string, string>, boolean]> = [
      [{ stage: 'waiting', percent: '0', bytes: '0' }, true],
      [{ stage: 'waiting', percent: '0', bytes: '0' }, true],
      [{ stage: 'transfer', percent: '10', bytes: '1000' }, true],
      [{ stage: 'transfer', percent: '10', bytes: '1000' }, false],
      [{ stage: 'transfer', percent: '10', bytes: '1000', rate_kbps: '0' }, false],
      [{ stage: 'transfer', percent: '11', bytes: '1100' }, true],
    ];
    for (const [fields, news] of steps) {
      const before = at();
      r.host.clock.advanceMinutes(1);
      r.agents.progress(j.jobId, j.token, fields);
      expect([fields, at() !== before]).toEqual([fields, news]);
    }
  });

  it('result: bad status or exit code refused', () => {
    const { jobId, token } = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(jobId, token);
    expect(() => r.agents.result(jobId, token, { status: 'ok' })).toThrow(InputError);
    expect(() => r.agents.result(jobId, token, { status: 'succeeded', exit_code: 'zero' })).toThrow(InputError);
    expect(targetOf(r.host, jobId).state).toBe('running');
  });

  it('report: stored in clonage_reports for the machine', () => {
    const { jobId, token } = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(jobId, token);
    r.agents.report(jobId, token, '[disks]\nsda 500G\n');
    const rows = r.host.db.prepare('SELECT mac, name, target_id, content FROM clonage_reports').all();
    expect(rows).toEqual([{ mac: MACS.pc02, name: 'pc02', target_id: jobId, content: '[disks]\nsda 500G\n' }]);
  });

  it('reboot policy: success reboots only on success', async () => {
    const r2 = rig();
    try {
      const a = await r2.service.create(admin, { type: 'backup', parcs: ['salle2'], machines: ['pc05', 'pc06'], params: { auto_reboot: 'success' } });
      await r2.scheduler.tick();
      const [j5, j6] = ['pc05', 'pc06'].map((n) => armedJob(r2.bootPlans, n));
      expect(r2.agents.fetchJob(j5.jobId, j5.token)).toContain('role=backup\n');
      r2.agents.fetchJob(j6.jobId, j6.token);
      expect(r2.agents.result(j5.jobId, j5.token, { status: 'succeeded', exit_code: '0' })).toBe('reboot=always\n');
      expect(r2.agents.result(j6.jobId, j6.token, { status: 'failed', exit_code: '2' })).toBe('reboot=never\n');
      expect(actionState(r2.host, a.id)).toBe('failed');
    } finally {
      r2.host.cleanup();
    }
  });

  it('token comparison is exact', () => {
    const t = 'x'.repeat(43);
    expect(tokenMatches(t, hashToken(t))).toBe(true);
    expect(tokenMatches(`${t.slice(0, 42)}y`, hashToken(t))).toBe(false);
    expect(tokenMatches(t, 'not-a-hash')).toBe(false);
  });
});
