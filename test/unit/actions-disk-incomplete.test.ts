/**
 * Issue 18 item 3: a PC whose job failed after it started writing its disk never boots that
 * disk silently. Its consumed plan becomes `incomplete` (its network boot shows DISQUE INCOMPLET
 * and boots from the network again each minute), the action page says so and what to do, and
 * "relancer les postes en échec" arms a job that replaces it.
 */
import { incompletePlan, localPlan } from '../../src/boot/boot-plan';
import { InputError } from '../../src/common/domain/errors';
import { Mac } from '../../src/common/domain/mac';
import { guessDisk } from '../../src/actions/engine/action-core';
import type { TargetRow } from '../../src/actions/model/action-types';
import { actionState, admin, armedJob, cloneInput, MACS, rig, type Rig, targetOf } from '../helpers/actions-fixtures';

const planOf = (r: Rig, name: string) => r.bootPlans.planFor(Mac.parse(MACS[name]));

describe('a disk left partly written', () => {
  let r: Rig;
  beforeEach(() => {
    r = rig({ timeouts: { armedMinutes: 60, silenceMinutes: 30, preparingMinutes: 40 } });
  });
  afterEach(() => r.host.cleanup());

  async function runningClone() {
    const { id } = await r.service.create(admin, cloneInput());
    await r.scheduler.tick();
    const jobs = (['pc01', 'pc02', 'pc03'] as const).map((n) => armedJob(r.bootPlans, n));
    for (const j of jobs) r.agents.fetchJob(j.jobId, j.token);
    return { id, jobs };
  }

  it('the agent says disk=incomplete: that PC gets the incomplete plan, the page says so; a failure before writing boots the disk', async () => {
    const { id, jobs: [s1, r2, r3] } = await runningClone();
    r.agents.progress(r2.jobId, r2.token, { stage: 'transfer', percent: '40', bytes: '4000' });
    r.agents.result(r2.jobId, r2.token, { status: 'failed', exit_code: '8', message: 'vda: udp-receiver exit 1, partly written', disk: 'incomplete' });
    r.agents.result(r3.jobId, r3.token, { status: 'failed', exit_code: '8', message: 'udp-receiver exit 1 before any byte' });
    expect(planOf(r, 'pc02')).toEqual(incompletePlan(r2.jobId));
    expect(planOf(r, 'pc03')).toEqual(localPlan());
    r.agents.result(s1.jobId, s1.token, { status: 'succeeded', exit_code: '0' });
    expect(planOf(r, 'pc01')).toEqual(localPlan());
    const view = await r.service.view(id, admin);
    expect(view.targets.map((t) => [t.name, t.diskIncomplete])).toEqual([['pc01', false], ['pc02', true], ['pc03', false]]);
    const warn = view.events.filter((e) => e.ref?.key === 'event.disk.incomplete');
    expect(warn.map((e) => [e.level, e.targetId, e.message])).toEqual([['warn', r2.jobId,
      'pc02: disk partly written; the PC no longer boots it (its network boot shows DISQUE INCOMPLET and tries again every minute): relaunch the failed PCs']]);
  });

  it('disk= takes only "incomplete": anything else is refused and changes nothing', async () => {
    const { jobs: [, r2] } = await runningClone();
    expect(() => r.agents.result(r2.jobId, r2.token, { status: 'failed', exit_code: '8', disk: 'maybe' })).toThrow(InputError);
    expect(targetOf(r.host, r2.jobId).state).toBe('running');
  });

  it('a succeeded result never marks the disk, whatever it says', async () => {
    const { jobs: [, r2] } = await runningClone();
    r.agents.result(r2.jobId, r2.token, { status: 'succeeded', exit_code: '0', disk: 'incomplete' });
    expect(planOf(r, 'pc02')).toEqual(localPlan());
  });

  it('without the agent (silence, the sender failed): guessed from the last stage; a receiver that got bytes is kept off its disk', async () => {
    const { id, jobs: [s1, r2, r3] } = await runningClone();
    r.agents.progress(r2.jobId, r2.token, { stage: 'transfer', percent: '40', bytes: '4000' });
    r.agents.progress(r3.jobId, r3.token, { stage: 'waiting', percent: '0', bytes: '0' });
    r.agents.result(s1.jobId, s1.token, { status: 'failed', exit_code: '8', message: 'udp-sender exit 1' });
    expect(actionState(r.host, id)).toBe('failed');
    expect(planOf(r, 'pc02')).toEqual(incompletePlan(r2.jobId));
    expect(planOf(r, 'pc03')).toEqual(localPlan());
  });

  it('silence of a receiver in transfer: incomplete plan; "relancer les postes en échec" replaces it with the new job, which runs once', async () => {
    const { id, jobs: [s1, r2, r3] } = await runningClone();
    r.agents.progress(r2.jobId, r2.token, { stage: 'transfer', percent: '40', bytes: '4000' });
    r.agents.result(r3.jobId, r3.token, { status: 'succeeded', exit_code: '0' });
    r.agents.result(s1.jobId, s1.token, { status: 'succeeded', exit_code: '0' });
    await r.scheduler.tick(r.host.clock.advanceMinutes(6));
    expect(targetOf(r.host, r2.jobId).state).toBe('failed');
    expect(planOf(r, 'pc02')).toEqual(incompletePlan(r2.jobId));
    const retryId = await r.service.retryFailed(id, admin);
    await r.scheduler.tick();
    const again = armedJob(r.bootPlans, 'pc02');
    expect(again.jobId).not.toBe(r2.jobId);
    expect(planOf(r, 'pc02')).toMatchObject({ kind: 'job', jobId: again.jobId });
    r.agents.fetchJob(again.jobId, again.token);
    r.agents.result(again.jobId, again.token, { status: 'succeeded', exit_code: '0' });
    expect(planOf(r, 'pc02')).toEqual(localPlan());
    expect(targetOf(r.host, again.jobId).action_id).toBe(retryId);
  });

  it('a restore silent in its writing phase is kept off its disk; one silent while verifying (nothing written) is not', async () => {
    const restore = async (machine: string) => {
      const { id } = await r.service.create(admin, { type: 'restore', parcs: ['salle2'], machines: [machine], params: { image: 'img1' } });
      await r.scheduler.tick();
      const j = armedJob(r.bootPlans, machine);
      r.agents.fetchJob(j.jobId, j.token);
      return { id, j };
    };
    const a = await restore('pc05');
    const b = await restore('pc06');
    r.agents.progress(a.j.jobId, a.j.token, { stage: 'restore', percent: '12', bytes: '1200' });
    r.agents.progress(b.j.jobId, b.j.token, { stage: 'verify', percent: '40', bytes: '4000' });
    await r.scheduler.tick(r.host.clock.advanceMinutes(6));
    expect([actionState(r.host, a.id), actionState(r.host, b.id)]).toEqual(['failed', 'failed']);
    expect(planOf(r, 'pc05')).toEqual(incompletePlan(a.j.jobId));
    expect(planOf(r, 'pc06')).toEqual(localPlan());
  });
});

describe('guessDisk: when in doubt, the disk is incomplete', () => {
  const t = (role: TargetRow['role'], stage: string | null, percent: number | null = null, bytes: number | null = null) =>
    ({ role, stage, percent, bytes }) as TargetRow;
  it.each<[TargetRow, 'incomplete' | 'untouched']>([
    [t('restore', null), 'untouched'],
    [t('restore', 'verify', 50), 'untouched'],
    [t('restore', 'verify', 99), 'incomplete'], // the table is written right after the last piece is verified
    [t('restore', 'restore', 0), 'incomplete'],
    [t('restore', 'done', 100), 'untouched'],
    [t('receiver', 'waiting', 0, 0), 'untouched'],
    [t('receiver', 'transfer', 1, 10), 'incomplete'],
    [t('receiver', 'waiting', 0, 10), 'incomplete'],
    [t('receiver', 'done', 100, 10), 'untouched'],
    [t('deploy', null), 'incomplete'],
    [t('deploy', 'recv-1', 0, 0), 'incomplete'],
    [t('sender', 'transfer', 50, 10), 'untouched'],
    [t('backup', 'backup', 50, 10), 'untouched'],
    [t('report', null), 'untouched'],
  ])('%o → %s', (target, expected) => {
    expect(guessDisk(target)).toBe(expected);
  });
});
