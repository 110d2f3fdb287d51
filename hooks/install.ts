import fs from 'node:fs';
import path from 'node:path';
import type { HookContext } from '../src/host/contract';
import { migrateClonage } from '../src/store/clonage-schema';

/** First enable: create the module's tables and its data folders (boot root, toolkits, images). */
export async function run(ctx: HookContext): Promise<void> {
  migrateClonage(ctx.db);
  for (const dir of ['tftproot', 'toolkits', 'images']) fs.mkdirSync(path.join(ctx.dataDir, dir), { recursive: true });
  ctx.logger.info('clonage installed', { dataDir: ctx.dataDir });
}
