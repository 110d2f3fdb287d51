import type { HookContext } from '../src/host/contract';

/**
 * Disable: the host has already stopped the services (register()'s stop). Armed boot plans are
 * left in the database but are no longer served, since the boot service is down; nothing is lost.
 */
export async function run(ctx: HookContext): Promise<void> {
  ctx.logger.info('clonage disabled');
}
