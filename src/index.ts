import type { HostContext, ModuleInstance } from './host/contract';
import { migrateClonage } from './store/clonage-schema';
import { MachineInventory } from './inventory/machine-inventory';
import { registerPageRoutes } from './http/page-routes';
import { errorMiddleware } from './http/error-middleware';

/**
 * The module's only entry point: the host calls register() when the module is enabled and
 * stop() on the returned instance when it is disabled or the host shuts down.
 */
export async function register(host: HostContext): Promise<ModuleInstance> {
  migrateClonage(host.db);
  const inventory = new MachineInventory(host.directory, host.dhcp);
  registerPageRoutes({ host, inventory });
  host.web.router.use(errorMiddleware(host.web, host.logger));
  host.logger.info('clonage module started');
  return {
    async stop() {
      host.logger.info('clonage module stopped');
    },
  };
}
