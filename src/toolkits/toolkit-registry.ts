import fs from 'node:fs';
import path from 'node:path';
import { checkToolkitName } from '../boot/boot-plan';
import type { ToolkitFiles } from '../boot/boot-root';
import { MAINTENANCE_ENTRIES, type MaintenanceEntry } from '../boot/menu-settings';

/** What pxe/build-bootenv.sh (or a verified download) leaves in <toolkits>/<name>/manifest.json. */
export interface ToolkitManifest {
  readonly name: string;
  readonly version: string;
  /** Maintenance menu entries this toolkit can boot. */
  readonly entries: readonly MaintenanceEntry[];
  readonly kernel: string;
  readonly initrd: string | null;
  readonly sha256?: Readonly<Record<string, string>>;
}

export interface InstalledToolkit extends ToolkitManifest {
  readonly dir: string;
  readonly sizeBytes: number;
  /** It carries the clonage agent, so job plans may boot it (only the environment built here). */
  readonly runsJobs: boolean;
  /** Entries its manifest claims but it cannot run (entryRunnable): never published in the menu. */
  readonly refusedEntries: readonly MaintenanceEntry[];
}

/** The environment pxe/build-bootenv.sh builds; downloads may not take this name (toolkit-installer.ts). */
export const AGENT_TOOLKIT = 'clonage';

/** Our own boot environment offers the agent's manual modes; memtest comes from Debian's memtest86+. */
const DEFAULT_ENTRIES: Record<string, readonly MaintenanceEntry[]> = {
  clonage: ['sender', 'receiver', 'report', 'shell'],
  memtest: ['memtest'],
};

/**
 * Whether a toolkit can run a maintenance entry: the agent's modes need the agent; a shell needs
 * a Linux with an initrd (any rescue system); memtest is a kernel without initrd. Manual backup
 * and restore are not implemented by the agent (pxe/agent/clonage-agent.sh): never offered.
 */
export function entryRunnable(entry: MaintenanceEntry, t: { readonly runsJobs: boolean; readonly initrd: string | null }): boolean {
  switch (entry) {
    case 'sender': case 'receiver': case 'report': return t.runsJobs;
    case 'shell': return t.initrd !== null;
    case 'memtest': return t.initrd === null;
    default: return false;
  }
}

/**
 * Installed boot environments under the module's data dir: one folder per toolkit holding its
 * kernel, its initrd and a manifest. A folder whose files are missing is not installed.
 *
 * Read once and kept: every iPXE script and menu asks for the installed toolkits, and reading
 * the manifests on each request cost a PC's boot several synchronous disk reads (issue 15). What
 * changes the folder calls refresh(): the toolkit installer (through BootService.refreshBootRoot)
 * at every install and removal; a boot environment built by `npm run toolkit:build` while the
 * service runs is seen at its next start, as the TFTP boot root is.
 */
export class ToolkitRegistry {
  private cached: readonly InstalledToolkit[] | null = null;

  constructor(readonly dir: string) {}

  list(): InstalledToolkit[] {
    this.cached ??= this.readAll();
    return [...this.cached];
  }

  /** Reads the folder again (after an install or a removal); returns what is installed now. */
  refresh(): InstalledToolkit[] {
    this.cached = null;
    return this.list();
  }

  private readAll(): InstalledToolkit[] {
    if (!fs.existsSync(this.dir)) return [];
    const out: InstalledToolkit[] = [];
    for (const name of fs.readdirSync(this.dir).sort()) {
      const t = this.read(name);
      if (t) out.push(t);
    }
    return out;
  }

  get(name: string): InstalledToolkit | null {
    return this.list().find((t) => t.name === name) ?? null;
  }

  /** Entries by toolkit name, what the menu renderers need. */
  installedEntries(): Record<string, readonly MaintenanceEntry[]> {
    return Object.fromEntries(this.list().map((t) => [t.name, t.entries]));
  }

  /** Files for assembleBootRoot(). */
  bootFiles(): ToolkitFiles[] {
    return this.list().map((t) => ({
      name: t.name,
      kernel: path.join(t.dir, t.kernel),
      initrd: t.initrd ? path.join(t.dir, t.initrd) : null,
    }));
  }

  private read(name: string): InstalledToolkit | null {
    try {
      checkToolkitName(name);
    } catch {
      return null;
    }
    const dir = path.join(this.dir, name);
    let manifest: Partial<ToolkitManifest> = {};
    const mf = path.join(dir, 'manifest.json');
    if (fs.existsSync(mf)) {
      try {
        manifest = JSON.parse(fs.readFileSync(mf, 'utf8')) as Partial<ToolkitManifest>;
      } catch {
        return null;
      }
    }
    const kernel = typeof manifest.kernel === 'string' && /^[A-Za-z0-9._+-]+$/.test(manifest.kernel) ? manifest.kernel : 'vmlinuz';
    const initrd = manifest.initrd === null ? null : typeof manifest.initrd === 'string' && /^[A-Za-z0-9._+-]+$/.test(manifest.initrd) ? manifest.initrd : 'initrd.img';
    const files = [kernel, ...(initrd ? [initrd] : [])].map((f) => path.join(dir, f));
    if (!files.every((f) => fs.existsSync(f))) return null;
    const claimed = (Array.isArray(manifest.entries) ? manifest.entries : DEFAULT_ENTRIES[name] ?? []).filter((e): e is MaintenanceEntry =>
      MAINTENANCE_ENTRIES.includes(e as MaintenanceEntry),
    );
    const runsJobs = name === AGENT_TOOLKIT;
    const can = (e: MaintenanceEntry) => entryRunnable(e, { runsJobs, initrd });
    return {
      name,
      version: typeof manifest.version === 'string' ? manifest.version : 'unknown',
      entries: claimed.filter(can),
      refusedEntries: claimed.filter((e) => !can(e)),
      runsJobs,
      kernel,
      initrd,
      sha256: manifest.sha256,
      dir,
      sizeBytes: files.reduce((n, f) => n + fs.statSync(f).size, 0),
    };
  }
}
