import type { HookContext } from '../src/host/contract';

/**
 * Uninstall keeps the database tables and the image store on purpose: backups of pupils' PCs must
 * not vanish with a click. The admin removes var/modules/clonage by hand if they really want to.
 */
export async function run(ctx: HookContext): Promise<void> {
  ctx.logger.warn('clonage uninstalled: tables and images kept', { dataDir: ctx.dataDir });
}
