import type { HookContext } from '../src/host/contract';
import { migrateClonage } from '../src/store/clonage-schema';

/** Every enable: bring the schema up to date (an upgraded package may bring migrations). */
export async function run(ctx: HookContext): Promise<void> {
  migrateClonage(ctx.db);
  ctx.logger.info('clonage enabled');
}
