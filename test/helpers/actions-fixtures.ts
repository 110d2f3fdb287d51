/**
 * Shared set-up of the action tests: a fake host on a real SQLite file, the real boot-plan
 * store, a recording waker, and the service under test.
 */
import { ActionService, type ActionServiceDeps } from '../../src/actions/engine/action-service';
import type { ActionInput } from '../../src/actions/params/action-request';
import type { WakeTarget, Waker } from '../../src/actions/engine/action-lifecycle';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { Mac } from '../../src/common/domain/mac';
import { MachineInventory } from '../../src/inventory/machine-inventory';
import { migrateClonage } from '../../src/store/clonage-schema';
import { createFakeHost, type FakeHost, USERS } from './fake-host';
import { InProcessAgents } from './in-process-agents';

export class RecordingWaker implements Waker {
  readonly woken: string[] = [];
  failFor = new Set<string>();
  async wake(m: WakeTarget): Promise<void> {
    if (this.failFor.has(m.name)) throw new Error('no route to host');
    this.woken.push(m.name);
  }
}

export interface Rig {
  readonly host: FakeHost;
  readonly service: ActionService;
  readonly bootPlans: BootPlanStore;
  readonly waker: RecordingWaker;
  /** The service's agent calls as PCs make them (boot token, then session, from the reserved IP). */
  readonly agents: InProcessAgents;
}

export function makeService(host: FakeHost, extra: Partial<ActionServiceDeps> = {}): { service: ActionService; bootPlans: BootPlanStore; waker: RecordingWaker } {
  migrateClonage(host.db);
  const bootPlans = new BootPlanStore(host.db, host.clock);
  const waker = new RecordingWaker();
  const service = new ActionService({
    db: host.db,
    clock: host.clock,
    bootPlans,
    logger: host.logger,
    machines: new MachineInventory(host.directory, host.dhcp),
    access: { parcsOf: (u) => host.web.parcsOf(u, 'parc_can_clone') },
    waker,
    settings: host.settings,
    ...extra,
  });
  return { service, bootPlans, waker };
}

export function rig(extra: Partial<ActionServiceDeps> = {}, host: FakeHost = createFakeHost()): Rig {
  const made = makeService(host, extra);
  return { host, ...made, agents: new InProcessAgents(made.service, host.db) };
}

export const admin = USERS.admin.user;
export const prof = USERS.prof.user;

export function cloneInput(over: Partial<ActionInput> = {}): ActionInput {
  return { type: 'clone', parcs: ['salle1'], emitter: 'pc01', receivers: ['pc02', 'pc03'], params: {}, ...over };
}

export const MACS: Record<string, string> = { pc01: '02:00:00:00:00:01', pc02: '02:00:00:00:00:02', pc03: '02:00:00:00:00:03', pc04: '02:00:00:00:00:04', pc05: '02:00:00:00:00:05', pc06: '02:00:00:00:00:06' };

/** The cleartext token of a machine's armed plan: where the agent gets it (its kernel command line). */
export function armedJob(bootPlans: BootPlanStore, name: string): { jobId: string; token: string } {
  const plan = bootPlans.get(Mac.parse(MACS[name]));
  if (plan?.kind !== 'job') throw new Error(`${name} has no armed job`);
  return { jobId: plan.jobId, token: plan.token };
}

/** Rows of the tables an agent call may change, to prove a refused call changed nothing. */
export function dbSnapshot(host: FakeHost): unknown {
  const q = (sql: string) => host.db.prepare(sql).all();
  return {
    actions: q('SELECT * FROM clonage_actions ORDER BY id'),
    targets: q('SELECT * FROM clonage_targets ORDER BY id'),
    events: q('SELECT * FROM clonage_events ORDER BY id'),
    reports: q('SELECT * FROM clonage_reports ORDER BY id'),
    plans: q('SELECT * FROM clonage_boot_plans ORDER BY mac'),
  };
}

export function targetOf(host: FakeHost, jobId: string): Record<string, unknown> {
  return host.db.prepare('SELECT * FROM clonage_targets WHERE id = ?').get(jobId) as Record<string, unknown>;
}

export function actionState(host: FakeHost, id: string): string {
  return (host.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(id) as { state: string }).state;
}
