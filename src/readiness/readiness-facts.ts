/**
 * Gathers the facts the readiness checks judge (readiness.ts): installed toolkits, the boot
 * chain of each firmware mode, the TFTP port, what the host says of its DHCP configuration, and the image
 * store's file system. Reads only: nothing here changes the server.
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import type { DhcpApi } from '../host/contract';
import type { ModuleSettings } from '../settings/module-settings';
import type { ReadinessFacts, ToolkitFact } from './readiness';

export interface ReadinessSources {
  /** Read again from disk for every readiness check (a boot environment built while the service runs shows at once). */
  readonly toolkits: { refresh(): readonly ToolkitFact[] };
  readonly settings: ModuleSettings;
  /** Per firmware mode (BootService.readiness().modes). */
  readonly bootModes: () => ReadinessFacts['bootModes'];
  readonly tftpPort: () => number;
  readonly dhcp: Pick<DhcpApi, 'configStatus'>;
  readonly imageRoot: string;
  readonly reserveBytes: number;
}


/** statfs of the store, or of its nearest existing parent (a fresh server has no images/ yet). */
async function spaceOf(dir: string): Promise<ReadinessFacts['imageStore']> {
  let d = path.resolve(dir);
  for (let i = 0; i < 64; i++) {
    try {
      const s = await statfs(d);
      return { root: dir, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch {
      const up = path.dirname(d);
      if (up === d) return null;
      d = up;
    }
  }
  return null;
}

export async function gatherReadinessFacts(s: ReadinessSources): Promise<ReadinessFacts> {
  let dhcp: ReadinessFacts['dhcp'] = null;
  try {
    dhcp = s.dhcp.configStatus?.() ?? null;
  } catch {
    dhcp = null;
  }
  return {
    toolkits: s.toolkits.refresh().map((t) => ({ name: t.name, runsJobs: t.runsJobs })),
    jobToolkit: s.settings.jobToolkit(),
    bootModes: s.bootModes(),
    tftpPort: s.tftpPort(),
    dhcp,
    imageStore: await spaceOf(s.imageRoot),
    reserveBytes: s.reserveBytes,
  };
}
