import type { HostContext, ModuleInstance } from './host/contract';
import { migrateClonage } from './store/clonage-schema';
import { MachineInventory } from './inventory/machine-inventory';
import { registerPageRoutes } from './http/admin/page-routes';
import { registerConfigRoutes } from './http/admin/config-routes';
import { errorMiddleware } from './http/error-middleware';
import { BootPlanStore } from './boot/boot-plan-store';
import { BootService } from './boot/boot-service';
import { ToolkitRegistry } from './toolkits/toolkit-registry';
import { ToolkitInstaller } from './toolkits/toolkit-installer';
import { wireActions } from './actions/engine/wire-actions';
import { actionWaker } from './wake/action-waker';
import { createEmitterPreparation } from './emitter';
import { wireImages } from './images/wire-images';
import { wireDeploy } from './deploy/wire-deploy';
import { jobBlocker, Readiness } from './readiness/readiness';
import { gatherReadinessFacts } from './readiness/readiness-facts';
import { ImageLibrary } from './images/image-library';
import { registerImageLibraryRoutes } from './http/admin/image-library-routes';

export { wireActions, type ActionWiring, type ActionWiringOptions } from './actions/engine/wire-actions';

/**
 * The module's only entry point: the host calls register() when the module is enabled and
 * stop() on the returned instance when it is disabled or the host shuts down.
 */
export async function register(host: HostContext): Promise<ModuleInstance> {
  migrateClonage(host.db);
  const inventory = new MachineInventory(host.directory, host.dhcp);
  const plans = new BootPlanStore(host.db, host.clock);
  const toolkits = new ToolkitRegistry(`${host.dataDir}/toolkits`);
  const boot = new BootService({ host, plans, toolkits });
  await boot.start();
  registerPageRoutes({ host, inventory });
  const installer = new ToolkitInstaller({
    toolkitsDir: toolkits.dir, moduleRoot: host.moduleRoot, clock: host.clock, logger: host.logger,
    onChange: () => boot.refreshBootRoot(),
  });
  // Image store routes go first: the agent router (wireActions) answers 404 to paths it does not know.
  const images = wireImages(host);
  const readiness = new Readiness(() => gatherReadinessFacts({
    toolkits, settings: host.settings, bootModes: () => boot.readiness().modes, tftpPort: () => boot.tftpPort, dhcp: host.dhcp,
    imageRoot: images.store.root, reserveBytes: images.store.reserveBytes,
  }));
  registerConfigRoutes(host, toolkits, installer, readiness, () => boot.readiness());
  const library = new ImageLibrary({ db: host.db, store: images.store, clock: host.clock, logger: host.logger, settings: host.settings });
  registerImageLibraryRoutes({ host, library, inventory });
  let actions;
  try {
    const waker = actionWaker(host);
    // Clones of Windows domain PCs: the emitter leaves the domain and acknowledges first (src/emitter/).
    const emitter = createEmitterPreparation(host, { wakeEmitter: (m) => waker.wake(m) });
    emitter.registerRoutes();
    const deploy = wireDeploy(host, images);
    actions = await wireActions(host, inventory, { bootPlans: plans, waker, emitterPreparer: emitter.preparer, ...deploy,
      blocker: async () => jobBlocker(await readiness.facts()) });
    images.attach(actions.service);
    const service = actions.service;
    boot.guardJobFiles((jobId, address, via) => service.bootFileAllowed(jobId, address, via));
  } catch (e) {
    await boot.stop();
    throw e;
  }
  host.web.router.use(errorMiddleware(host.web, host.logger));
  host.logger.info('clonage module started');
  return {
    async stop() {
      await actions.stop();
      await boot.stop();
      host.logger.info('clonage module stopped');
    },
  };
}
