/**
 * The module's image routes behind the real action service, served over HTTP by the fake host:
 * what the image-store, storage-target and deploy suites all start from. `wire` replaces the
 * default action wiring (the deploy suite adds its sender).
 */
import type { Server } from 'http';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { Mac } from '../../src/common/domain/mac';
import { errorMiddleware } from '../../src/http/error-middleware';
import { registerPageRoutes } from '../../src/http/admin/page-routes';
import { type ImageWiring, wireImages } from '../../src/images/wire-images';
import { MachineInventory } from '../../src/inventory/machine-inventory';
import { type ActionWiring, wireActions } from '../../src/index';
import { migrateClonage } from '../../src/store/clonage-schema';
import { createFakeHost, type FakeHost, fakeHostApp, listen, USERS } from './fake-host';
import { InProcessAgents } from './in-process-agents';

export interface ImageRig {
  readonly host: FakeHost;
  readonly images: ImageWiring;
  readonly bootPlans: BootPlanStore;
  readonly actions: ActionWiring;
  /** In-process agent calls, from loopback like the rig's HTTP calls. */
  readonly agents: InProcessAgents;
  readonly base: string;
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

export interface RigParts {
  readonly host: FakeHost;
  readonly inventory: MachineInventory;
  readonly images: ImageWiring;
  readonly bootPlans: BootPlanStore;
}

export async function startImageRig(
  wire: (p: RigParts) => Promise<ActionWiring> = (p) => wireActions(p.host, p.inventory, { bootPlans: p.bootPlans, tickMs: 0 }),
  host: FakeHost = createFakeHost(),
): Promise<ImageRig> {
  migrateClonage(host.db);
  // The rig's agent calls come from loopback, not from the lab's reserved 10.0.0.x addresses:
  // later calls are bound to the address that fetched the job (agent-address.test.ts proves `reserved`).
  host.settings.set('agent.addressCheck', 'fetcher');
  const bootPlans = new BootPlanStore(host.db, host.clock);
  const inventory = new MachineInventory(host.directory, host.dhcp);
  registerPageRoutes({ host, inventory });
  const images = wireImages(host, { reserveBytes: 0 });
  const actions = await wire({ host, inventory, images, bootPlans });
  images.attach(actions.service);
  host.web.router.use(errorMiddleware(host.web, host.logger));
  const { server, base }: { server: Server; base: string } = await listen(fakeHostApp(host));
  const agents = new InProcessAgents(actions.service, host.db, '127.0.0.1');
  return {
    host,
    images,
    bootPlans,
    actions,
    agents,
    base,
    async runningJob(type, machine, params = {}) {
      await actions.service.create(USERS.admin.user, { type, parcs: ['salle1'], machines: [machine], params });
      await actions.service.tick(host.clock.now());
      const plan = bootPlans.get(Mac.parse(`02:00:00:00:00:0${machine.slice(-1)}`));
      if (plan?.kind !== 'job') throw new Error('no armed job');
      const job = agents.fetchJob(plan.jobId, plan.token);
      return { jobId: plan.jobId, session: agents.sessionOf(plan.jobId), job, url: `${base}/modules/clonage/api/agent/jobs/${plan.jobId}/image` };
    },
    async stop() {
      await actions.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      host.cleanup();
    },
  };
}
