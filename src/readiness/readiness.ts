/**
 * Is this server ready to clone? The Configuration page's checklist and the wizard's refusal
 * before waking anyone both read it. Facts are gathered once (readiness-facts.ts, files and
 * sockets); the checks below are pure functions of them, so each one is tested alone and another
 * part of the module adds its own check with Readiness.add() (e.g. a per-firmware boot chain).
 */
import type { MessageRef } from '../common/domain/errors';
import { msg } from '../i18n/module-messages';

export type ReadinessLevel = 'ok' | 'warn' | 'bad';

export interface ReadinessItem {
  /** Stable id (tests, anchors, CSS). */
  readonly id: string;
  readonly level: ReadinessLevel;
  /** What is checked, e.g. "Environnement de démarrage des tâches". */
  readonly label: MessageRef;
  /** What was found. */
  readonly detail: MessageRef;
  /** How to fix it (absent when ok). */
  readonly fix?: MessageRef;
}

/** What a toolkit can do, from the toolkit registry. */
export interface ToolkitFact {
  readonly name: string;
  /** It carries the clonage agent (only the environment built here does). */
  readonly runsJobs: boolean;
}

export interface ReadinessFacts {
  readonly toolkits: readonly ToolkitFact[];
  /** Setting toolkit.default: what job plans boot. */
  readonly jobToolkit: string;
  /** Per firmware mode, the loader chain offered and its missing files (src/boot/boot-readiness.ts). */
  readonly bootModes: readonly { readonly mode: 'bios' | 'uefi'; readonly chain: string; readonly ready: boolean; readonly missing: readonly string[] }[];
  /** Port the module's TFTP server listens on; 0 when it is not running. */
  readonly tftpPort: number;
  /** Null: the host does not say (its DHCP module has no configStatus). */
  readonly dhcp: { readonly file: string; readonly written: boolean; readonly upToDate: boolean; readonly pxeBoot: boolean } | null;
  readonly imageStore: { readonly root: string; readonly freeBytes: number; readonly totalBytes: number } | null;
  /** Free bytes the store keeps: an upload that would eat into it is refused. */
  readonly reserveBytes: number;
}

export type ReadinessCheck = (facts: ReadinessFacts) => ReadinessItem | null;

/** Why no job can run at all; the wizard refuses and a due action fails, before waking anyone. */
export interface JobBlocker {
  readonly code: 'toolkitMissing' | 'toolkitNoAgent' | 'noLoader';
  /** The job toolkit's name. */
  readonly name: string;
  /** English, for logs and APIs. */
  readonly text: string;
}

const GIB = 1024 ** 3;


/** The toolkit job plans use, when it is installed and runs the agent: else why not. */
export function jobToolkitProblem(f: Pick<ReadinessFacts, 'toolkits' | 'jobToolkit'>): MessageRef | null {
  const tk = f.toolkits.find((t) => t.name === f.jobToolkit);
  if (!tk) return msg('ready.jobToolkit.missing', { name: f.jobToolkit });
  if (!tk.runsJobs) return msg('ready.jobToolkit.noAgent', { name: f.jobToolkit });
  return null;
}

export function jobBlocker(f: Pick<ReadinessFacts, 'toolkits' | 'jobToolkit' | 'bootModes'>): JobBlocker | null {
  const name = f.jobToolkit;
  const tk = f.toolkits.find((t) => t.name === name);
  if (!tk) return { code: 'toolkitMissing', name, text: `the boot environment ${name} is not installed` };
  if (!tk.runsJobs) return { code: 'toolkitNoAgent', name, text: `the boot environment ${name} has no cloning agent` };
  if (!f.bootModes.some((m) => m.ready)) return { code: 'noLoader', name, text: 'no network boot loader (pxelinux, iPXE) is in the boot root' };
  return null;
}

export const jobToolkitCheck: ReadinessCheck = (f) => {
  const problem = jobToolkitProblem(f);
  const label = msg('ready.jobToolkit');
  if (!problem) return { id: 'job-toolkit', level: 'ok', label, detail: msg('ready.jobToolkit.ok', { name: f.jobToolkit }) };
  const other = f.toolkits.find((t) => t.runsJobs);
  return { id: 'job-toolkit', level: 'bad', label, detail: problem,
    fix: other ? msg('ready.jobToolkit.fixChoose', { name: other.name }) : msg('ready.jobToolkit.fixBuild') };
};

/** One line per firmware mode: its chain's files in the boot root, and the packages that bring them. */
const modeCheck = (mode: 'bios' | 'uefi'): ReadinessCheck => (f) => {
  const m = f.bootModes.find((x) => x.mode === mode);
  const id = `boot-${mode}`;
  const label = msg(mode === 'bios' ? 'ready.bios' : m?.chain === 'secureboot' ? 'ready.secureBoot' : 'ready.uefi');
  if (!m) return null;
  if (m.ready) return { id, level: 'ok', label, detail: msg('ready.loaders.ok') };
  const fix = msg(mode === 'bios' ? 'ready.bios.fix' : m.chain === 'secureboot' ? 'ready.secureBoot.fix' : 'ready.uefi.fix');
  // BIOS PXE is what most school PCs boot; a UEFI-only gap is a warning
  return { id, level: mode === 'bios' ? 'bad' : 'warn', label, detail: msg('ready.loaders.missing', { files: m.missing.join(', ') }), fix };
};
export const biosCheck = modeCheck('bios');
export const uefiCheck = modeCheck('uefi');

export const tftpCheck: ReadinessCheck = (f) => {
  const label = msg('ready.tftp');
  if (f.tftpPort === 0) return { id: 'tftp', level: 'bad', label, detail: msg('ready.tftp.down'), fix: msg('ready.tftp.fix', { port: 69 }) };
  // PCs always ask port 69: another port only works behind a redirection (tests, npm start).
  if (f.tftpPort !== 69) return { id: 'tftp', level: 'warn', label, detail: msg('ready.tftp.port', { port: f.tftpPort }), fix: msg('ready.tftp.fix', { port: 69 }) };
  return { id: 'tftp', level: 'ok', label, detail: msg('ready.tftp.port', { port: f.tftpPort }) };
};

export const dhcpCheck: ReadinessCheck = (f) => {
  const label = msg('ready.dhcp');
  if (!f.dhcp) return { id: 'dhcp', level: 'warn', label, detail: msg('ready.dhcp.unknown'), fix: msg('ready.dhcp.fixHost') };
  if (!f.dhcp.written) return { id: 'dhcp', level: 'bad', label, detail: msg('ready.dhcp.notWritten', { file: f.dhcp.file }), fix: msg('ready.dhcp.fixWrite') };
  if (!f.dhcp.upToDate) return { id: 'dhcp', level: 'warn', label, detail: msg('ready.dhcp.stale', { file: f.dhcp.file }), fix: msg('ready.dhcp.fixWrite') };
  if (!f.dhcp.pxeBoot) return { id: 'dhcp', level: 'bad', label, detail: msg('ready.dhcp.noPxe', { file: f.dhcp.file }), fix: msg('ready.dhcp.fixWrite') };
  return { id: 'dhcp', level: 'ok', label, detail: msg('ready.dhcp.ok', { file: f.dhcp.file }) };
};

export const imageStoreCheck: ReadinessCheck = (f) => {
  const label = msg('ready.store');
  const s = f.imageStore;
  if (!s) return { id: 'image-store', level: 'bad', label, detail: msg('ready.store.unreadable'), fix: msg('ready.store.fix') };
  const free = (s.freeBytes / GIB).toFixed(1);
  const total = (s.totalBytes / GIB).toFixed(1);
  if (s.freeBytes <= f.reserveBytes) return { id: 'image-store', level: 'bad', label, detail: msg('ready.store.full', { free, total }), fix: msg('ready.store.fix') };
  if (s.freeBytes < 10 * GIB) return { id: 'image-store', level: 'warn', label, detail: msg('ready.store.low', { free, total }), fix: msg('ready.store.fix') };
  return { id: 'image-store', level: 'ok', label, detail: msg('ready.store.free', { free, total }) };
};

export const DEFAULT_CHECKS: readonly ReadinessCheck[] = [jobToolkitCheck, biosCheck, uefiCheck, tftpCheck, dhcpCheck, imageStoreCheck];

/** The checklist: the default checks plus those other parts of the module add. */
export class Readiness {
  private readonly checks: ReadinessCheck[] = [...DEFAULT_CHECKS];

  constructor(private readonly gather: () => Promise<ReadinessFacts>) {}

  /** Adds a check (or replaces the one with the same id, e.g. a finer per-firmware check). */
  add(check: ReadinessCheck, replaces?: string): void {
    if (replaces) {
      const i = this.checks.findIndex((c) => c === DEFAULT_BY_ID[replaces]);
      if (i >= 0) this.checks.splice(i, 1);
    }
    this.checks.push(check);
  }

  facts(): Promise<ReadinessFacts> {
    return this.gather();
  }

  async items(): Promise<ReadinessItem[]> {
    const facts = await this.gather();
    return itemsOf(facts, this.checks);
  }
}

const DEFAULT_BY_ID: Readonly<Record<string, ReadinessCheck>> = {
  'job-toolkit': jobToolkitCheck, 'boot-bios': biosCheck, 'boot-uefi': uefiCheck,
  tftp: tftpCheck, dhcp: dhcpCheck, 'image-store': imageStoreCheck,
};

export function itemsOf(facts: ReadinessFacts, checks: readonly ReadinessCheck[] = DEFAULT_CHECKS): ReadinessItem[] {
  return checks.flatMap((c) => {
    const item = c(facts);
    return item ? [item] : [];
  });
}

/** Worst level of a list: what the page headline says. */
export function overall(items: readonly ReadinessItem[]): ReadinessLevel {
  return items.some((i) => i.level === 'bad') ? 'bad' : items.some((i) => i.level === 'warn') ? 'warn' : 'ok';
}
