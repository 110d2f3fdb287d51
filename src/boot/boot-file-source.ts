/**
 * What the TFTP server serves: pxelinux.cfg/* and grub/* (the network GRUB of UEFI PCs) rendered
 * on each request from the plan store and the menu settings, everything else from the static boot root.
 *
 * pxelinux asks, in order: pxelinux.cfg/<UUID>, 01-<mac>, the client IP in hex shortened one
 * digit at a time, then default. Only 01-<mac> and default are answered; the others are "not
 * found", so the MAC file (always answered for a well-formed MAC) is what decides. Nothing is
 * ever written to disk, so no boot file can go stale.
 * Reading a plan does not consume it: pxelinux may fetch the file more than once, and a job is
 * consumed only when its agent fetches it (docs/agent-protocol.md).
 */
import type { Logger } from '../host/contract';
import { Mac } from '../common/domain/mac';
import { bufferFile, type FileSource, type TftpClient, type TftpFile } from '../tftp/file-source';
import { localPlan, type BootPlan } from './boot-plan';
import type { MenuSettings } from './menu-settings';
import { renderGrubForPlan, renderGrubMain } from './grub-renderer';
import { renderPxelinuxDefault, renderPxelinuxForPlan } from './pxelinux-renderer';

const CFG_DIR = 'pxelinux.cfg/';
/** GRUB's $net_default_mac: lowercase, colons. */
const GRUB_MAC_FILE = /^grub\/mac\/([0-9a-f]{2}(?::[0-9a-f]{2}){5})\.cfg$/;
/** ARP hardware type 1 (Ethernet) + the MAC, lowercase with dashes, as pxelinux names it. */
const MAC_FILE = /^01-[0-9a-f]{2}(-[0-9a-f]{2}){5}$/;

/** Who asks for a boot file: a job's file is served only to its target's address (BootService). */
export interface BootClient {
  readonly address: string | null;
  readonly via: 'tftp' | 'http';
}

/** The plan a MAC boots now, as `client` may see it (BootPlanStore.planFor, or BootService's guarded view). */
export interface PlanSource {
  planFor(mac: Mac, client?: BootClient): BootPlan;
}

export interface BootFileSourceDeps {
  readonly plans: PlanSource;
  /** Read on every request, so a settings change applies at the next boot. */
  readonly menuSettings: () => MenuSettings;
  /** The boot root: pxelinux.0, .c32 modules, iPXE binaries, toolkits/. */
  readonly staticFiles: FileSource;
  readonly logger?: Logger;
}

export class BootFileSource implements FileSource {
  constructor(private readonly deps: BootFileSourceDeps) {}

  async open(path: string, client: TftpClient): Promise<TftpFile | null> {
    if (path === 'pxelinux.cfg' || path.startsWith(CFG_DIR)) {
      const text = this.renderConfig(path.slice(CFG_DIR.length), client);
      return text === null ? null : bufferFile(Buffer.from(text, 'ascii'));
    }
    if (path === 'grub' || path.startsWith('grub/')) {
      const text = this.renderGrub(path, client);
      return text === null ? null : bufferFile(Buffer.from(text, 'ascii'));
    }
    return this.deps.staticFiles.open(path, client);
  }

  /**
   * grub/grub.cfg → the main file (hands over to the PC's file, else the menu);
   * grub/mac/<aa:bb:cc:dd:ee:ff>.cfg → the MAC's plan. Anything else under grub/ (the module
   * lists the signed GRUB looks for, which has its modules built in) → not found.
   */
  renderGrub(path: string, client?: TftpClient): string | null {
    if (path === 'grub/grub.cfg') return this.safely(path, client, (s) => renderGrubMain(s), grubLocal);
    const m = GRUB_MAC_FILE.exec(path);
    const mac = m === null ? null : Mac.tryParse(m[1]);
    if (mac === null) return null;
    return this.safely(path, client, (s) => renderGrubForPlan(this.deps.plans.planFor(mac, { address: client?.address ?? null, via: 'tftp' }), mac, s), grubLocal);
  }

  /** The config file text for a name under pxelinux.cfg/, or null for "not found". */
  renderConfig(name: string, client?: TftpClient): string | null {
    if (name === 'default') return this.safely(`${CFG_DIR}${name}`, client, (s) => renderPxelinuxDefault(s));
    // pxelinux always asks in lowercase; anything else is not a pxelinux request.
    if (!MAC_FILE.test(name)) return null;
    const mac = Mac.tryParse(name.slice(3));
    if (mac === null) return null; // multicast, broadcast or null address: not a PC
    return this.safely(`${CFG_DIR}${name}`, client, (s) => renderPxelinuxForPlan(this.deps.plans.planFor(mac, { address: client?.address ?? null, via: 'tftp' }), s));
  }

  /**
   * A broken database or setting must not leave the whole school at a PXE error screen: the
   * failure is logged and the PC boots its local disk.
   */
  private safely(file: string, client: TftpClient | undefined, render: (s: MenuSettings) => string, local = pxelinuxLocal): string {
    try {
      return render(this.deps.menuSettings());
    } catch (err) {
      this.deps.logger?.error('boot file rendering failed, serving a local boot', {
        file,
        client: client?.address,
        error: err instanceof Error ? err.message : String(err),
      });
      return local();
    }
  }
}

const pxelinuxLocal = (): string => renderPxelinuxForPlan(localPlan(), FALLBACK_SETTINGS);
// The MAC only goes on a job's command line; a local boot does not use it.
const grubLocal = (): string => renderGrubForPlan(localPlan(), Mac.parse('02:00:00:00:00:00'), FALLBACK_SETTINGS);

/** Just enough to render a local boot when the real settings cannot be read. */
const FALLBACK_SETTINGS: MenuSettings = Object.freeze({
  mode: 'text',
  timeoutSeconds: 0,
  maintenancePasswordHash: null,
  serverUrl: 'http://127.0.0.1',
  installed: {},
  localBoot: 'chain',
});
