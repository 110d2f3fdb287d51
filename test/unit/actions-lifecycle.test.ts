import { GoneError } from '../../src/agent/agent-jobs';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '../../src/common/domain/errors';
import { Mac } from '../../src/common/domain/mac';
import type { ActionUpdate } from '../../src/actions/engine/action-bus';
import type { EmitterPreparer } from '../../src/actions/engine/action-lifecycle';
import { createFakeHost } from '../helpers/fake-host';
import { BrokenBootPlans, INTENTIONAL } from '../helpers/fakes';
import { actionState, admin, armedJob, cloneInput, MACS, makeService, prof, rig, type Rig, targetOf } from '../helpers/actions-fixtures';

const states = (r: Rig, id: string) =>
  Object.fromEntries((r.host.db.prepare('SELECT name, state FROM clonage_targets WHERE action_id = ?').all(id) as { name: string; state: string }[]).map((t) => [t.name, t.state]));
const armedMacs = (r: Rig) => r.bootPlans.listArmed().map((p) => p.mac.toString()).sort();

describe('action lifecycle', () => {
  let r: Rig;
  beforeEach(() => {
    r = rig({ timeouts: { armedMinutes: 60, silenceMinutes: 30, preparingMinutes: 40 } });
  });
  afterEach(() => r.host.cleanup());

  it('create stores a scheduled action; tick arms one job plan per target (toolkit from settings) and wakes them', async () => {
    r.host.settings.set('toolkit.default', 'udpcast-2025');
    const { id } = await r.service.create(admin, cloneInput());
    expect(actionState(r.host, id)).toBe('scheduled');
    expect(armedMacs(r)).toEqual([]);
    await r.scheduler.tick(r.host.clock.now());
    expect(actionState(r.host, id)).toBe('armed');
    expect(armedMacs(r)).toEqual([MACS.pc01, MACS.pc02, MACS.pc03]);
    const plan = r.bootPlans.get(Mac.parse(MACS.pc01));
    expect(plan).toMatchObject({ kind: 'job', toolkit: 'udpcast-2025', label: 'sender' });
    expect(r.waker.woken.sort()).toEqual(['pc01', 'pc02', 'pc03']);
  });

  it('a start time in the future waits for it', async () => {
    const { id } = await r.service.create(admin, cloneInput({ start: 'at', start_at: '2025-03-10T09:00:00Z' }));
    await r.scheduler.tick(r.host.clock.now());
    expect(actionState(r.host, id)).toBe('scheduled');
    await r.scheduler.tick(r.host.clock.advanceMinutes(61));
    expect(actionState(r.host, id)).toBe('armed');
  });

  it('a wake failure is recorded, not fatal', async () => {
    r.waker.failFor.add('pc02');
    const { id } = await r.service.create(admin, cloneInput());
    await r.scheduler.tick();
    expect(actionState(r.host, id)).toBe('armed');
    const events = (await r.service.view(id, admin)).events.map((e) => e.message);
    expect(events.some((m) => m.includes('pc02: wake failed'))).toBe(true);
  });

  it('refuses a machine already in an unfinished action', async () => {
    await r.service.create(admin, cloneInput());
    await expect(r.service.create(admin, { type: 'report', parcs: ['salle1'], machines: ['pc03'] })).rejects.toMatchObject({ field: 'machines' });
  });

  it('armed too long → failed, plans disarmed', async () => {
    const { id } = await r.service.create(admin, cloneInput());
    await r.scheduler.tick();
    const sender = armedJob(r.bootPlans, 'pc01');
    r.agents.fetchJob(sender.jobId, sender.token);
    // The sender waits for receivers; its agent keeps reporting, so it is not "silent".
    r.host.clock.advanceMinutes(29);
    r.agents.progress(sender.jobId, sender.token, { stage: 'waiting' });
    await r.scheduler.tick(r.host.clock.advanceMinutes(30));
    expect(armedMacs(r)).toHaveLength(2);
    r.agents.progress(sender.jobId, sender.token, { stage: 'waiting' });
    await r.scheduler.tick(r.host.clock.advanceMinutes(2));
    expect(states(r, id)).toEqual({ pc01: 'running', pc02: 'failed', pc03: 'failed' });
    expect(armedMacs(r)).toEqual([]);
    expect(actionState(r.host, id)).toBe('running');
  });

  it('running without news too long → failed; news keeps it alive (clone: at least start_timeout + 10)', async () => {
    const { id } = await r.service.create(admin, { type: 'backup', parcs: ['salle2'], machines: ['pc05'] });
    await r.scheduler.tick();
    const j = armedJob(r.bootPlans, 'pc05');
    r.agents.fetchJob(j.jobId, j.token);
    r.host.clock.advanceMinutes(25);
    r.agents.progress(j.jobId, j.token, { percent: '50' });
    await r.scheduler.tick(r.host.clock.advanceMinutes(25));
    expect(actionState(r.host, id)).toBe('running');
    await r.scheduler.tick(r.host.clock.advanceMinutes(6));
    expect(actionState(r.host, id)).toBe('failed');
    expect(String(targetOf(r.host, j.jobId).message ?? '')).toBe('');
    const clone = await r.service.create(admin, cloneInput({ params: { start_timeout: '40', max_wait: '30' } }));
    await r.scheduler.tick();
    const rcv = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(rcv.jobId, rcv.token);
    await r.scheduler.tick(r.host.clock.advanceMinutes(45));
    expect(targetOf(r.host, rcv.jobId).state).toBe('running');
    await r.scheduler.tick(r.host.clock.advanceMinutes(6));
    expect(targetOf(r.host, rcv.jobId).state).toBe('failed');
    expect(actionState(r.host, clone.id)).toBe('running');
  });

  it('a silent sender fails, and with it the receivers still waiting (plans disarmed)', async () => {
    const { id } = await r.service.create(admin, cloneInput());
    await r.scheduler.tick();
    const sender = armedJob(r.bootPlans, 'pc01');
    r.agents.fetchJob(sender.jobId, sender.token);
    await r.scheduler.tick(r.host.clock.advanceMinutes(31));
    expect(states(r, id)).toEqual({ pc01: 'failed', pc02: 'failed', pc03: 'failed' });
    expect(armedMacs(r)).toEqual([]);
    expect(actionState(r.host, id)).toBe('failed');
    const messages = (await r.service.view(id, admin)).events.map((e) => e.message);
    expect(messages.filter((m) => m.includes('the sender failed'))).toHaveLength(2);
  });

  it('cancel disarms every plan, cancels waiting targets, stops running clone PCs (410 to their next call)', async () => {
    const { id } = await r.service.create(admin, cloneInput());
    await r.scheduler.tick();
    const rcv = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(rcv.jobId, rcv.token);
    r.agents.progress(rcv.jobId, rcv.token, { stage: 'transfer', percent: '20', bytes: '2000' });
    await r.service.cancel(id, admin);
    expect(states(r, id)).toEqual({ pc01: 'cancelled', pc02: 'failed', pc03: 'cancelled' });
    // No job left armed; the receiver stopped mid-transfer is kept off its partly written disk.
    expect(r.bootPlans.listArmed().map((p) => [p.mac.toString(), p.plan.kind])).toEqual([[MACS.pc02, 'incomplete']]);
    const events = (await r.service.view(id, admin)).events.map((e) => e.message);
    expect(events.some((m) => m.includes('pc02 (receiver): running → failed — cancelled by admin: udpcast is stopped, the disk is partly written'))).toBe(true);
    expect(() => r.agents.progress(rcv.jobId, rcv.token, { stage: 'transfer', percent: '21', bytes: '2100' })).toThrow(GoneError);
    expect(actionState(r.host, id)).toBe('failed');
    await expect(r.service.cancel(id, admin)).rejects.toBeInstanceOf(ConflictError);
  });

  it('cancel leaves a running backup alone (recorded): it ends on its own', async () => {
    const { id } = await r.service.create(admin, { type: 'backup', parcs: ['salle2'], machines: ['pc05'] });
    await r.scheduler.tick();
    const j = armedJob(r.bootPlans, 'pc05');
    r.agents.fetchJob(j.jobId, j.token);
    await r.service.cancel(id, admin);
    expect(targetOf(r.host, j.jobId).state).toBe('running');
    const events = (await r.service.view(id, admin)).events.map((e) => e.message);
    expect(events.some((m) => m.includes('pc05 is already running: its disk is not touched'))).toBe(true);
    r.agents.result(j.jobId, j.token, { status: 'succeeded', exit_code: '0' });
    expect(actionState(r.host, id)).toBe('succeeded');
  });

  it('silence follows the stage: minutes where the agent posts often, the long limit while it waits; the event says what was last known', async () => {
    const { id } = await r.service.create(admin, cloneInput({ params: { start_timeout: '20', max_wait: '10' } }));
    await r.scheduler.tick();
    const [s1, r2, r3] = (['pc01', 'pc02', 'pc03'] as const).map((n) => armedJob(r.bootPlans, n));
    for (const j of [s1, r2, r3]) r.agents.fetchJob(j.jobId, j.token);
    r.agents.progress(s1.jobId, s1.token, { stage: 'transfer', percent: '30', bytes: '3000' });
    r.agents.progress(r2.jobId, r2.token, { stage: 'transfer', percent: '30', bytes: '3000' });
    r.agents.progress(r3.jobId, r3.token, { stage: 'waiting', percent: '0', bytes: '0' });
    r.host.clock.advanceMinutes(4);
    r.agents.progress(s1.jobId, s1.token, { stage: 'transfer', percent: '31', bytes: '3100' });
    r.agents.progress(r2.jobId, r2.token, { stage: 'transfer', percent: '30', bytes: '3000' }); // stuck: not news
    await r.scheduler.tick(r.host.clock.advanceMinutes(2));
    expect(states(r, id)).toEqual({ pc01: 'running', pc02: 'failed', pc03: 'running' });
    const events = (await r.service.view(id, admin)).events.map((e) => e.message);
    expect(events).toContain('pc02 (receiver): running → failed — no news from the agent for 5 minutes; last known: stage transfer, 30%, 3000 bytes');
    // The waiting receiver has the long limit, max(30, start_timeout + 10), while the sender moves on.
    for (let minute = 7; minute <= 30; minute += 4) {
      r.agents.progress(s1.jobId, s1.token, { stage: 'transfer', percent: String(30 + minute), bytes: String(3000 + minute) });
      await r.scheduler.tick(r.host.clock.advanceMinutes(4));
    }
    expect(states(r, id)).toEqual({ pc01: 'running', pc02: 'failed', pc03: 'running' });
    r.agents.progress(s1.jobId, s1.token, { stage: 'transfer', percent: '90', bytes: '9000' });
    await r.scheduler.tick(r.host.clock.advanceMinutes(4));
    expect(states(r, id)).toEqual({ pc01: 'running', pc02: 'failed', pc03: 'failed' });
  });

  it('cancel of a scheduled action: nothing is ever armed', async () => {
    const { id } = await r.service.create(admin, cloneInput({ start: 'at', start_at: '2025-03-10T09:00:00Z' }));
    await r.service.cancel(id, admin);
    await r.scheduler.tick(r.host.clock.advanceMinutes(120));
    expect(actionState(r.host, id)).toBe('cancelled');
    expect(armedMacs(r)).toEqual([]);
  });

  it('a user outside the action parcs gets 403; unknown action 404', async () => {
    const { id } = await r.service.create(admin, cloneInput());
    await expect(r.service.view(id, prof)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(r.service.cancel(id, prof)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(r.service.startNow(id, prof)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(r.service.view('a_nope', admin)).rejects.toBeInstanceOf(NotFoundError);
    expect(actionState(r.host, id)).toBe('scheduled');
  });

  it('start now: min_receivers = receivers that fetched, the others left out', async () => {
    const { id } = await r.service.create(admin, cloneInput({ receivers: ['pc02', 'pc03', 'pc04'] }));
    await r.scheduler.tick();
    await expect(r.service.startNow(id, admin)).rejects.toBeInstanceOf(ConflictError);
    const rcv = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(rcv.jobId, rcv.token);
    expect((await r.service.view(id, admin)).canStartNow).toBe(true);
    expect(await r.service.startNow(id, admin)).toBe(1);
    expect(states(r, id)).toEqual({ pc01: 'armed', pc02: 'running', pc03: 'cancelled', pc04: 'cancelled' });
    const sender = armedJob(r.bootPlans, 'pc01');
    expect(r.agents.fetchJob(sender.jobId, sender.token)).toContain('min_receivers=1\n');
    expect(armedMacs(r)).toEqual([]);
  });

  it('notifies subscribers after each committed change; unsubscribe stops it', async () => {
    const { id } = await r.service.create(admin, cloneInput());
    const seen: ActionUpdate[] = [];
    const off = r.service.subscribe(id, (u) => seen.push(u));
    await r.scheduler.tick();
    expect(seen).toHaveLength(1);
    expect(seen[0].events.map((e) => e.message)).toContain('action: scheduled → armed');
    const j = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(j.jobId, j.token);
    r.agents.progress(j.jobId, j.token, { percent: '1' });
    expect(seen).toHaveLength(3);
    expect(seen[2].events).toEqual([]);
    off();
    r.agents.progress(j.jobId, j.token, { percent: '2' });
    expect(seen).toHaveLength(3);
  });

  it('emitter preparation: preparing, then armed; a failure fails the action with nothing armed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const prepared: string[] = [];
    const preparer: EmitterPreparer = { needsPreparation: () => true, prepare: async (_a, emitter) => { prepared.push(emitter.name); await gate; } };
    const p = rig({ emitterPreparer: preparer });
    try {
      const { id } = await p.service.create(admin, cloneInput());
      await p.scheduler.tick();
      expect(actionState(p.host, id)).toBe('preparing');
      expect(prepared).toEqual(['pc01']);
      expect(p.bootPlans.listArmed()).toEqual([]);
      release();
      await p.scheduler.idle();
      expect(actionState(p.host, id)).toBe('armed');
      const failing = rig({ emitterPreparer: { needsPreparation: () => true, prepare: async () => { throw new Error('smbclient: access denied'); } } });
      const f = await failing.service.create(admin, cloneInput());
      await failing.scheduler.tick();
      await failing.scheduler.idle();
      expect(actionState(failing.host, f.id)).toBe('failed');
      expect((failing.host.db.prepare('SELECT error FROM clonage_actions').get() as { error: string }).error).toContain('access denied');
      failing.host.cleanup();
    } finally {
      p.host.cleanup();
    }
  });

  it('an action created while a tick runs is started by a follow-up run, not left for the next periodic tick; idle() waits for it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const woken: string[] = [];
    const g = rig({ waker: { wake: async (m) => { woken.push(m.name); await gate; } } });
    try {
      const first = await g.service.create(admin, cloneInput());
      const running = g.scheduler.tick(); // arms the clone, then waits in wake()
      await new Promise((res) => setImmediate(res));
      expect(actionState(g.host, first.id)).toBe('armed');
      const second = await g.service.create(admin, { type: 'report', parcs: ['salle1'], machines: ['pc04'] });
      const followUp = Promise.all([g.scheduler.tick(), g.scheduler.tick()]); // callers meanwhile share one follow-up run
      let idle = false;
      const idling = g.scheduler.idle().then(() => (idle = true));
      await new Promise((res) => setImmediate(res));
      expect(actionState(g.host, second.id)).toBe('scheduled');
      expect(idle).toBe(false); // a wake-up is still running
      release();
      await Promise.all([running, followUp, idling]);
      expect(actionState(g.host, second.id)).toBe('armed');
      expect(woken.filter((n) => n === 'pc04')).toEqual(['pc04']);
      expect(idle).toBe(true);
    } finally {
      g.host.cleanup();
    }
  });

  it('a clone whose emitter needs no preparation goes straight to armed, never through preparing', async () => {
    const asked: string[] = [];
    const preparer: EmitterPreparer = {
      needsPreparation: (a) => (asked.push(a.id), false),
      prepare: async () => { throw new Error('prepare() must not be called'); },
    };
    const p = rig({ emitterPreparer: preparer });
    try {
      const { id } = await p.service.create(admin, cloneInput());
      await p.scheduler.tick();
      await p.scheduler.idle();
      expect(asked).toEqual([id]);
      expect(actionState(p.host, id)).toBe('armed');
      const states = p.host.db.prepare('SELECT DISTINCT message FROM clonage_events WHERE action_id = ?').all(id) as Array<{ message: string }>;
      expect(states.map((e) => e.message).join('\n')).not.toMatch(/preparing the emitter|waiting for the emitter/);
    } finally {
      p.host.cleanup();
    }
  });

  it('restart: a new service on the same database resumes timeouts and disarms dead plans', async () => {
    const { id } = await r.service.create(admin, cloneInput());
    await r.scheduler.tick();
    const rcv = armedJob(r.bootPlans, 'pc02');
    r.agents.fetchJob(rcv.jobId, rcv.token);
    // Simulate a crash between a state change and the disarm: a cancelled target keeps its plan.
    r.host.db.prepare("UPDATE clonage_targets SET state = 'cancelled', finished_at = ? WHERE name = 'pc03'").run(r.host.clock.now().toISOString());
    const again = createFakeHost({ dbFile: r.host.dbFile, clock: r.host.clock });
    try {
      const restarted = makeService(again, { timeouts: { armedMinutes: 60, silenceMinutes: 30 } });
      const caller = { session: r.agents.sessionOf(rcv.jobId), address: r.agents.addressOf(rcv.jobId) };
      await restarted.scheduler.recover(again.clock.now());
      expect(restarted.bootPlans.get(Mac.parse(MACS.pc03))).toBeNull();
      expect(restarted.bootPlans.get(Mac.parse(MACS.pc01))).not.toBeNull();
      expect(restarted.agent.progress(rcv.jobId, caller, { percent: '10' })).toBeUndefined();
      again.clock.advanceMinutes(61);
      restarted.agent.log(rcv.jobId, caller, 'still receiving\n');
      await restarted.scheduler.recover(again.clock.now());
      expect(states(r, id)).toEqual({ pc01: 'failed', pc02: 'running', pc03: 'cancelled' });
      expect(restarted.bootPlans.listArmed()).toEqual([]);
      expect(restarted.agent.result(rcv.jobId, caller, { status: 'succeeded', exit_code: '0' })).toBe('reboot=always\n');
      expect(actionState(again, id)).toBe('failed');
    } finally {
      again.db.close();
    }
  });

  it('recurring backup: a schedule creates one action per due run, image named per run', async () => {
    const created = await r.service.create(admin, { type: 'backup', parcs: ['salle2'], machines: ['pc05'], start: 'cron', cron: '0 18 * * *' });
    expect(created.kind).toBe('schedule');
    await r.scheduler.tick(r.host.clock.now());
    expect(r.host.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual({ n: 0 });
    r.host.clock.set('2025-03-12T18:00:30Z');
    await r.scheduler.tick(r.host.clock.now());
    await r.scheduler.tick(r.host.clock.now());
    const rows = r.host.db.prepare('SELECT state, params_json, schedule_id FROM clonage_actions').all() as { state: string; params_json: string; schedule_id: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'armed', schedule_id: created.id });
    expect(JSON.parse(rows[0].params_json).image).toBe('image_20250312');
    expect(r.schedules.get(created.id)!.nextRunAt).toBe(new Date('2025-03-13T18:00:00').toISOString());
  });

  it('a bad toolkit setting fails the action instead of arming anything', async () => {
    r.host.settings.set('toolkit.default', '../evil');
    const { id } = await r.service.create(admin, cloneInput());
    await r.scheduler.tick();
    expect(actionState(r.host, id)).toBe('failed');
    expect(armedMacs(r)).toEqual([]);
  });

  it('a broken boot-plan store (fakes.ts): the action fails with the reason, nothing is woken', async () => {
    const b = rig({ plans: new BrokenBootPlans() });
    try {
      const { id } = await b.service.create(admin, cloneInput());
      await b.scheduler.tick();
      expect(actionState(b.host, id)).toBe('failed');
      expect(b.waker.woken).toEqual([]);
      const error = (b.host.db.prepare('SELECT error FROM clonage_actions WHERE id = ?').get(id) as { error: string }).error;
      expect(error).toBe(`could not arm the boot plans: ${INTENTIONAL}`);
    } finally {
      b.host.cleanup();
    }
  });

  it('create needs parcs delegated to the user', async () => {
    await expect(r.service.create(prof, cloneInput())).rejects.toBeInstanceOf(ForbiddenError);
    await expect(r.service.create(prof, { type: 'report', parcs: ['salle2'], machines: ['pc05'] })).resolves.toMatchObject({ kind: 'action' });
    await expect(r.service.create(prof, { type: 'report', parcs: ['salle2'], machines: ['pc07'] })).rejects.toBeInstanceOf(InputError);
  });
});
