/**
 * The module started through its composition root (test-module.ts), with a helper that runs a
 * backup/restore job as the agent would: what the image-store, storage-target and deploy suites
 * start from. `overrides` replace defaults (the deploy suite gives its own sender).
 */
import { Mac } from '../../src/common/domain/mac';
import type { BootPlanStore } from '../../src/boot/boot-plan-store';
import type { ModuleOverrides, ModuleParts, RunningModule } from '../../src/index';
import { createFakeHost, type FakeHost, USERS } from './fake-host';
import { startTestModule } from './test-module';
import { InProcessAgents } from './in-process-agents';

export interface ImageRig {
  readonly host: FakeHost;
  readonly parts: ModuleParts;
  readonly bootPlans: BootPlanStore;
  readonly base: string;
  /** In-process agent calls, from loopback like the rig's HTTP calls. */
  readonly agents: InProcessAgents;
  /** The running module: `module.stop()` stops it as the host would, leaving the host and its database. */
  readonly module: RunningModule;
  /** Creates a backup/restore of one machine of salle1, ticks it and fetches its job as the agent would. */
  runningJob(type: 'backup' | 'restore', machine: string, params?: Record<string, string>): Promise<RunningJob>;
  stop(): Promise<void>;
}

/** A fetched job: later calls send `session` as X-Clonage-Session (sessionHeaders), from loopback. */
export interface RunningJob {
  readonly jobId: string;
  readonly session: string;
  readonly job: string;
  readonly url: string;
}

/** The header every agent call after the job fetch carries. */
export function sessionHeaders(session: string | undefined): Record<string, string> {
  return session === undefined ? {} : { 'x-clonage-session': session };
}

export async function startImageRig(overrides: ModuleOverrides = {}, host: FakeHost = createFakeHost()): Promise<ImageRig> {
  // The rig's agent calls come from loopback, not from the lab's reserved 10.0.0.x addresses:
  // later calls are bound to the address that fetched the job (agent-address.test.ts proves `reserved`).
  host.settings.set('agent.addressCheck', 'fetcher');
  const m = await startTestModule(overrides, host);
  const { parts, base } = m;
  const agents = new InProcessAgents(parts.agent, host.db, '127.0.0.1');
  return {
    host,
    parts,
    bootPlans: parts.bootPlans,
    base,
    module: m.module,
    agents,
    async runningJob(type, machine, params = {}) {
      await parts.actions.create(USERS.admin.user, { type, parcs: ['salle1'], machines: [machine], params });
      await parts.scheduler.tick(host.clock.now());
      const plan = parts.bootPlans.get(Mac.parse(`02:00:00:00:00:0${machine.slice(-1)}`));
      if (plan?.kind !== 'job') throw new Error('no armed job');
      const job = agents.fetchJob(plan.jobId, plan.token);
      return { jobId: plan.jobId, session: agents.sessionOf(plan.jobId), job, url: `${base}/modules/clonage/api/agent/jobs/${plan.jobId}/image` };
    },
    stop: () => m.stop(),
  };
}
