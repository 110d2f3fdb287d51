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

export interface ImageRig {
  readonly host: FakeHost;
  readonly images: ImageWiring;
  readonly bootPlans: BootPlanStore;
  readonly actions: ActionWiring;
  readonly base: string;
  /** Creates a backup/restore of one machine of salle1, ticks it and fetches its job as the agent would. */
  runningJob(type: 'backup' | 'restore', machine: string, params?: Record<string, string>): Promise<{ jobId: string; token: string; job: string; url: string }>;
  stop(): Promise<void>;
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
  const bootPlans = new BootPlanStore(host.db, host.clock);
  const inventory = new MachineInventory(host.directory, host.dhcp);
  registerPageRoutes({ host, inventory });
  const images = wireImages(host, { reserveBytes: 0 });
  const actions = await wire({ host, inventory, images, bootPlans });
  images.attach(actions.service);
  host.web.router.use(errorMiddleware(host.web, host.logger));
  const { server, base }: { server: Server; base: string } = await listen(fakeHostApp(host));
  return {
    host,
    images,
    bootPlans,
    actions,
    base,
    async runningJob(type, machine, params = {}) {
      await actions.service.create(USERS.admin.user, { type, parcs: ['salle1'], machines: [machine], params });
      await actions.service.tick(host.clock.now());
      const plan = bootPlans.get(Mac.parse(`02:00:00:00:00:0${machine.slice(-1)}`));
      if (plan?.kind !== 'job') throw new Error('no armed job');
      const job = actions.service.fetchJob(plan.jobId, plan.token);
      return { jobId: plan.jobId, token: plan.token, job, url: `${base}/modules/clonage/api/agent/jobs/${plan.jobId}/image` };
    },
    async stop() {
      await actions.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      host.cleanup();
    },
  };
}
