import path from 'node:path';
import type { HostContext } from '../host/contract';
import { DirectorySource } from '../tftp/directory-source';
import { TftpServer } from '../tftp/tftp-server';
import type { ToolkitRegistry } from '../toolkits/toolkit-registry';
import { BootFileSource } from './boot-file-source';
import type { BootPlanStore } from './boot-plan-store';
import { assembleBootRoot, type BootRootReport } from './boot-root';
import { httpBootRoutes } from '../http/pc/boot-routes';
import { menuSettingsFromStore, type MenuSettings } from './menu-settings';

export interface BootServiceDeps {
  readonly host: HostContext;
  readonly plans: BootPlanStore;
  readonly toolkits: ToolkitRegistry;
}

/**
 * Everything a PC needs to network-boot: the boot root (pxelinux, modules, toolkits), the TFTP
 * server serving it with per-MAC configs rendered from boot plans, the same plans as iPXE scripts
 * over HTTP, and the PXE options handed to the host's DHCP module.
 */
export class BootService {
  private tftp: TftpServer | null = null;
  private lastReport: BootRootReport | null = null;
  readonly bootRoot: string;

  constructor(private readonly deps: BootServiceDeps) {
    this.bootRoot = path.join(deps.host.dataDir, 'tftproot');
  }

  /** Base URL of the module as PCs reach it (goes on kernel command lines and into iPXE scripts). */
  get serverUrl(): string {
    return `${this.deps.host.network.publicBaseUrl}${this.deps.host.web.mountPath}`;
  }

  menuSettings = (): MenuSettings =>
    menuSettingsFromStore(this.deps.host.settings, this.serverUrl, this.deps.toolkits.installedEntries());

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
      plans,
      menuSettings: this.menuSettings,
      staticFiles: new DirectorySource(this.bootRoot),
      logger: host.logger,
    });
    this.tftp = new TftpServer({
      source,
      port: host.settings.getOr<number>('tftp.port', 6969),
      address: host.settings.getOr<string>('tftp.bindAddress', '0.0.0.0'),
      logger: host.logger,
      clock: host.clock,
    });
    await this.tftp.start();
    host.web.router.use(httpBootRoutes({ plans, menuSettings: this.menuSettings, toolkitsDir: path.join(this.bootRoot, 'toolkits'), logger: host.logger }));
    host.dhcp.setPxeBoot(host.moduleId, {
      nextServer: host.network.serverIp,
      biosBootFile: 'pxelinux.0',
      efiX64BootFile: 'ipxe.efi',
      // iPXE clients (QEMU's ROM, chained undionly.kpxe) get the plan as an HTTP script, which is
      // faster than TFTP; off, they load pxelinux.0 over TFTP like any PXE ROM.
      ipxeScriptUrl: host.settings.getOr<boolean>('boot.ipxeHttpScript', true) ? `${this.serverUrl}/boot/ipxe?mac=\${net0/mac}` : null,
    });
    host.logger.info('boot service started', { tftpPort: this.tftp.port, bootRoot: this.bootRoot, missing: this.lastReport?.missing.map((m) => m.file) });
  }

  /** Re-copies loaders and toolkits into the boot root (after a toolkit install or removal). */
  async refreshBootRoot(): Promise<BootRootReport> {
    this.lastReport = await assembleBootRoot(this.bootRoot, this.deps.toolkits.bootFiles());
    return this.lastReport;
  }

  async stop(): Promise<void> {
    await this.tftp?.stop();
    this.tftp = null;
  }
}
