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
}

/** Our own boot environment offers every manual mode; memtest comes from Debian's memtest86+. */
const DEFAULT_ENTRIES: Record<string, readonly MaintenanceEntry[]> = {
  clonage: ['sender', 'receiver', 'backup', 'restore', 'report', 'shell'],
  memtest: ['memtest'],
};

/**
 * Installed boot environments under the module's data dir: one folder per toolkit holding its
 * kernel, its initrd and a manifest. A folder whose files are missing is not installed.
 */
export class ToolkitRegistry {
  constructor(readonly dir: string) {}

  list(): InstalledToolkit[] {
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
    const entries = (Array.isArray(manifest.entries) ? manifest.entries : DEFAULT_ENTRIES[name] ?? []).filter((e): e is MaintenanceEntry =>
      MAINTENANCE_ENTRIES.includes(e as MaintenanceEntry),
    );
    return {
      name,
      version: typeof manifest.version === 'string' ? manifest.version : 'unknown',
      entries,
      kernel,
      initrd,
      sha256: manifest.sha256,
      dir,
      sizeBytes: files.reduce((n, f) => n + fs.statSync(f).size, 0),
    };
  }
}
