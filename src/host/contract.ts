/**
 * The host contract: everything a SambaEdu-like admin shell gives a module, and nothing more.
 * Module code (src/ outside src/shell/) imports only this file for host services; the standalone
 * shell in src/shell/ is one implementation, a real SambaEdu host would be another.
 * Types only: no runtime code lives here, so importing it couples to no implementation.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Database } from 'better-sqlite3';
import type { Mac } from '../common/domain/mac';
import type { Ipv4 } from '../common/domain/ipv4';
import type { Hostname } from '../common/domain/hostname';
import type { Locale } from '../common/i18n/locale';

/** Rights as SE3 names them in ou=Rights. Modules may declare others in their manifest. */
export type Right = 'system_is_admin' | 'parc_can_clone' | (string & {});

/**
 * The language a user reads pages in. The host chooses it (the user's choice, else the browser's
 * Accept-Language, else French) and tells the module through HostWeb.locale.
 */
export type { Locale };

export interface HostUser {
  readonly login: string;
  readonly displayName: string;
}

/** Time is passed in, never read globally, so schedules and timeouts are testable. */
export interface Clock {
  now(): Date;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Module-scoped key/value settings (JSON values), seeded from the manifest's defaults. */
export interface SettingsStore {
  get<T>(key: string): T | undefined;
  getOr<T>(key: string, fallback: T): T;
  set(key: string, value: unknown): void;
  all(): Record<string, unknown>;
  /** Removes a key the module no longer uses (optional: a host without it keeps the key, set to null). */
  delete?(key: string): void;
}

// ---------------------------------------------------------------- directory (LDAP)

/** A computer entry (ou=Computers). Attributes that fail validation are null and explained in `problems`. */
export interface DirectoryComputer {
  readonly name: string;
  readonly ip: Ipv4 | null;
  readonly mac: Mac | null;
  readonly description: string | null;
  readonly problems: readonly string[];
}

/** A parc (ou=Parcs groupOfNames): its member computers' names, lowercase. */
export interface DirectoryParc {
  readonly name: string;
  readonly members: readonly string[];
}

export interface Directory {
  listParcs(): Promise<DirectoryParc[]>;
  getParc(name: string): Promise<DirectoryParc | null>;
  listComputers(): Promise<DirectoryComputer[]>;
  getComputer(name: string): Promise<DirectoryComputer | null>;
  /** The parc's members that exist in ou=Computers, sorted by name. */
  computersInParc(parc: string): Promise<DirectoryComputer[]>;
  /** Logins that hold a right, directly or through a group (ou=Rights). */
  rightHolders(right: Right): Promise<string[]>;
}

// ---------------------------------------------------------------- DHCP module

export interface DhcpReservation {
  readonly mac: Mac;
  readonly ip: Ipv4;
  readonly name: Hostname;
}

/**
 * How PXE clients boot, set by the module that serves boot files. The DHCP module renders it
 * into its server configuration: next-server, and a boot file per client architecture (DHCP
 * option 93: 0 BIOS, 7 and 9 x86-64 UEFI); iPXE clients (user-class "iPXE") are sent to the HTTP
 * script URL instead. An architecture without a boot file gets none (and a log line), never
 * another architecture's loader.
 */
export interface PxeBootOptions {
  readonly nextServer: Ipv4;
  /** TFTP port only matters to documentation: DHCP cannot announce it, PCs always use 69. null: no BIOS loader. */
  readonly biosBootFile: string | null;
  /** null: no UEFI loader in place, UEFI PCs get no boot file. */
  readonly efiX64BootFile: string | null;
  /** e.g. http://10.0.0.1:8080/modules/clonage/boot/ipxe?mac=${net0/mac} */
  readonly ipxeScriptUrl: string | null;
  /**
   * With a script URL: whether BIOS iPXE clients get it (default true) or `biosBootFile` like any
   * PXE ROM (pxelinux runs on iPXE's PXE stack). UEFI iPXE clients always get the script: the
   * UEFI boot file they would load instead is iPXE again or needs the firmware's own PXE.
   */
  readonly ipxeScriptForBios?: boolean;
}

export type DhcpChange =
  | { readonly kind: 'reservation-added' | 'reservation-removed' | 'reservation-updated'; readonly mac: Mac }
  | { readonly kind: 'pxe-options-changed' };

/** Whether the DHCP server's configuration file is on disk and says what the module asked. */
export interface DhcpConfigStatus {
  readonly file: string;
  readonly written: boolean;
  /** The file on disk is what the DHCP module would write now. */
  readonly upToDate: boolean;
  /** PXE options (next-server, boot files) are in it. */
  readonly pxeBoot: boolean;
}

export interface DhcpApi {
  listReservations(): DhcpReservation[];
  findByMac(mac: Mac): DhcpReservation | null;
  findByName(name: Hostname): DhcpReservation | null;
  findByIp(ip: Ipv4): DhcpReservation | null;
  /** Sets (or clears, with null) the PXE boot options this module asks for. */
  setPxeBoot(moduleId: string, options: PxeBootOptions | null): void;
  onChange(listener: (change: DhcpChange) => void): () => void;
  /** Optional: hosts that can tell let the module's readiness checklist say it. */
  configStatus?(): DhcpConfigStatus;
}

// ---------------------------------------------------------------- network as PCs see the server

export interface HostNetwork {
  /** The server's address on the PCs' network (next-server, udp-sender peer). */
  readonly serverIp: Ipv4;
  /** Base URL of the shell's HTTP server as PCs reach it, no trailing slash. */
  readonly publicBaseUrl: string;
  /** Directed broadcast address(es) for Wake-on-LAN, from the DHCP subnets. */
  readonly wakeBroadcasts: readonly Ipv4[];
}

// ---------------------------------------------------------------- web

export interface HostWeb {
  /** Router mounted at `mountPath`; the host applies no auth to it: each route declares its own. */
  readonly router: Router;
  /** e.g. /modules/clonage */
  readonly mountPath: string;
  currentUser(req: Request): HostUser | null;
  can(user: HostUser, right: Right): Promise<boolean>;
  /** Parcs the user may act on: 'all' for system_is_admin, else the delegated ones. */
  parcsOf(user: HostUser, right: Right): Promise<'all' | string[]>;
  /** 401/redirect to the login page without a session, 403 without the right. */
  requireRight(right: Right): RequestHandler;
  /** Token to embed in forms (hidden `_csrf`) and in the `x-csrf-token` header of fetches. */
  csrfToken(req: Request): string;
  /** Rejects unsafe methods (POST/PUT/PATCH/DELETE) without a valid CSRF token. */
  readonly verifyCsrf: RequestHandler;
  /** The language of this request's user: pages, titles, flash and form messages use it. */
  locale(req: Request): Locale;
  /**
   * Keeps a one-time message for this user's next page and returns its id: redirect to
   * `…?flash=<id>`. Pages never show text taken from the URL.
   */
  flash(req: Request, message: string): string;
  /**
   * Renders a module view (path relative to the module's pages/ folder) inside the shell layout.
   * Views receive ready data and never query.
   */
  render(req: Request, res: Response, view: string, locals: Record<string, unknown> & { title: string }): Promise<void>;
}

// ---------------------------------------------------------------- what a module receives

/** What lifecycle hooks (module.json `hooks`) receive: no web, the module is not running. */
export interface HookContext {
  readonly moduleId: string;
  /** The module package's root folder (where module.json is). */
  readonly moduleRoot: string;
  /** A writable folder for this module's data (images, toolkits, generated files). */
  readonly dataDir: string;
  /** Shared SQLite handle; a module names its tables with its id as prefix and runs its own migrations. */
  readonly db: Database;
  readonly settings: SettingsStore;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** What register() receives: the hook context plus the host's services and web. */
export interface HostContext extends HookContext {
  readonly directory: Directory;
  readonly dhcp: DhcpApi;
  readonly network: HostNetwork;
  readonly web: HostWeb;
}

/** What register() returns: the host calls stop() when the module is disabled or the host stops. */
export interface ModuleInstance {
  stop(): Promise<void>;
}

/** The module entry point named by module.json `entry`: `export async function register(host)`. */
export type RegisterModule = (host: HostContext) => Promise<ModuleInstance>;

export type LifecycleHook = (ctx: HookContext) => Promise<void>;

// ---------------------------------------------------------------- manifest (module.json)

export interface MenuEntry {
  readonly label: string;
  readonly labelEn?: string;
  /** Path relative to the module mount, starting with '/'. */
  readonly path: string;
  readonly order: number;
  readonly right: Right;
  readonly section?: string;
  readonly sectionEn?: string;
}

export interface ModuleManifest {
  readonly id: string;
  readonly name: string;
  readonly nameEn?: string;
  readonly version: string;
  readonly description: string;
  readonly descriptionEn?: string;
  /** Compiled entry relative to the module root, exporting `register`. */
  readonly entry: string;
  /** Ids of host modules that must be enabled first (e.g. "dhcp"). */
  readonly requires: readonly string[];
  readonly rights: readonly Right[];
  readonly menu: readonly MenuEntry[];
  readonly hooks: Partial<Record<'install' | 'enable' | 'disable' | 'uninstall', string>>;
  readonly settings: Readonly<Record<string, unknown>>;
  /** Settings holding service passwords: the host stores them encrypted, never in clear. */
  readonly secretSettings?: readonly string[];
}
