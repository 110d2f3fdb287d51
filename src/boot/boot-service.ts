import path from 'node:path';
import type { HostContext } from '../host/contract';
import { DirectorySource } from '../tftp/directory-source';
import { TftpServer } from '../tftp/tftp-server';
import type { ToolkitRegistry } from '../toolkits/toolkit-registry';
import { type BootClient, BootFileSource, type PlanSource } from './boot-file-source';
import { localPlan } from './boot-plan';
import { peerAddress } from '../agent/agent-caller';
import type { Mac } from '../common/domain/mac';

/** Whether a boot file carrying job `jobId`'s token may go to this client (the agent side decides and records). */
export type JobFileGuard = (jobId: string, address: string | null, via: BootClient['via']) => boolean;
import type { BootPlanStore } from './boot-plan-store';
import { assembleBootRoot, type BootRootReport } from './boot-root';
import { bootReadiness, parseUefiChain, UEFI_CHAIN_SETTING, type BootReadiness, type UefiChain } from './boot-readiness';
import { menuSettingsFromStore, type MenuSettings } from './menu-settings';
import { ModuleSettings } from '../settings/module-settings';

export interface BootServiceDeps {
  readonly host: HostContext;
  readonly plans: BootPlanStore;
  readonly toolkits: ToolkitRegistry;
  /** Whether a job's boot file may go to the asking client (AgentJobs.bootFileAllowed). */
  readonly guard: JobFileGuard;
  /** Default: the host's settings store, read through the module's schemas. */
  readonly settings?: ModuleSettings;
}

/**
 * Everything a PC needs to network-boot: the boot root (pxelinux, modules, toolkits), the TFTP
 * server serving it with per-MAC configs rendered from boot plans (the same plans as iPXE scripts
 * over HTTP: src/http/pc/boot-routes.ts), and the PXE options handed to the host's DHCP module.
 */
export class BootService {
  private tftp: TftpServer | null = null;
  private lastReport: BootRootReport | null = null;
  readonly bootRoot: string;

  private readonly settings: ModuleSettings;

  /**
   * The plans as a client may see them, over TFTP and HTTP (src/http/pc/boot-routes.ts): a job's
   * plan (which carries its token) only when the guard allows it, else a local boot.
   */
  readonly plansForClients: PlanSource = {
    planFor: (mac: Mac, client?: BootClient) => {
      const plan = this.deps.plans.planFor(mac);
      if (plan.kind !== 'job') return plan;
      return this.deps.guard(plan.jobId, peerAddress(client?.address ?? null), client?.via ?? 'tftp') ? plan : localPlan();
    },
  };

  constructor(private readonly deps: BootServiceDeps) {
    this.settings = deps.settings ?? new ModuleSettings(deps.host.settings);
    this.bootRoot = path.join(deps.host.dataDir, 'tftproot');
  }

  /** Base URL of the module as PCs reach it (goes on kernel command lines and into iPXE scripts). */
  get serverUrl(): string {
    return `${this.deps.host.network.publicBaseUrl}${this.deps.host.web.mountPath}`;
  }

  menuSettings = (): MenuSettings =>
    menuSettingsFromStore(this.settings, this.serverUrl, this.deps.toolkits.installedEntries());

  /** Folder holding <toolkit>/vmlinuz and <toolkit>/initrd.img, served over HTTP too. */
  get toolkitsDir(): string {
    return path.join(this.bootRoot, 'toolkits');
  }

  get tftpPort(): number {
    return this.tftp?.port ?? 0;
  }

  get bootRootReport(): BootRootReport | null {
    return this.lastReport;
  }

  async start(): Promise<void> {
    const { host, plans } = this.deps;
    await this.refreshBootRoot();
    const source = new BootFileSource({
      plans: this.plansForClients,
      menuSettings: this.menuSettings,
      staticFiles: new DirectorySource(this.bootRoot),
      logger: host.logger,
    });
    this.tftp = new TftpServer({
      source,
      port: this.settings.tftp().port,
      address: this.settings.tftp().bindAddress,
      logger: host.logger,
      clock: host.clock,
    });
    await this.tftp.start();
    this.applyPxeOptions();
    host.logger.info('boot service started', { tftpPort: this.tftp.port, bootRoot: this.bootRoot, missing: this.lastReport?.missing.map((m) => m.file) });
  }

  /** The UEFI chain chosen on the Configuration page (docs/boot.md); a bad stored value falls back to the default. */
  get uefiChain(): UefiChain {
    return this.settings.uefiChain();
  }

  /** Per firmware mode: the chain offered and whether its files are in the boot root. */
  readiness(): BootReadiness {
    return bootReadiness(this.lastReport, this.uefiChain);
  }

  /**
   * Hands the DHCP module one boot file per firmware mode whose chain is complete, none for the
   * others (a PC then gets an address and no loader rather than a loader that fails). Called at
   * start, after each boot-root refresh and when the UEFI chain setting changes.
   */
  applyPxeOptions(): void {
    const { host } = this.deps;
    const r = this.readiness();
    const file = (mode: 'bios' | 'uefi') => r.modes.find((m) => m.mode === mode)!.bootFile;
    for (const m of r.modes) {
      if (!m.ready) host.logger.warn('boot: no boot file offered to this firmware mode, its loader chain is incomplete', { mode: m.mode, chain: m.chain, missing: m.missing });
    }
    host.dhcp.setPxeBoot(host.moduleId, {
      nextServer: host.network.serverIp,
      biosBootFile: file('bios'),
      efiX64BootFile: file('uefi'),
      // iPXE clients (QEMU's ROM, chained undionly.kpxe or snponly.efi) get the plan as an HTTP
      // script. boot.ipxeHttpScript=false sends BIOS iPXE to pxelinux.0 over TFTP like any PXE
      // ROM; UEFI iPXE always gets the script (its boot file would be iPXE again: a loop).
      ipxeScriptUrl: `${this.serverUrl}/boot/ipxe?mac=\${net0/mac}`,
      ipxeScriptForBios: this.settings.menu().ipxeHttpScript,
    });
  }

  /** Re-copies loaders and toolkits into the boot root (after a toolkit install or removal). */
  async refreshBootRoot(): Promise<BootRootReport> {
    this.deps.toolkits.refresh();
    this.lastReport = await assembleBootRoot(this.bootRoot, this.deps.toolkits.bootFiles());
    if (this.tftp) this.applyPxeOptions();
    return this.lastReport;
  }

  async stop(): Promise<void> {
    await this.tftp?.stop();
    this.tftp = null;
  }
}
