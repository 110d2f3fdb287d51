import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../common/domain/errors';
import { Ipv4 } from '../common/domain/ipv4';
import { DEFAULT_THROTTLE, type ThrottlePolicy } from './login-throttle';

/**
 * The standalone shell's configuration. Read from a JSON file (CLONAGE_CONFIG) merged over the
 * embedded defaults, so `npm start` on a fresh clone works with no file at all:
 * SQLite under var/, the bundled SE3-like LDIF as directory, a dnsmasq config written under var/.
 */
export interface ShellConfig {
  /**
   * `host`/`port`: the admin listener (pages, /login, and PC routes unless `pc` is set). `pc`:
   * optional second listener for the PCs' network, serving only what PCs call (each module's
   * `/api/…` and `/boot/…`); with it, bind `host` to the admin network only.
   */
  readonly listen: { readonly host: string; readonly port: number; readonly pc?: { readonly host: string; readonly port: number } };
  /** Root of the repository: where module.json and the bundled LDIF are. */
  readonly appRoot: string;
  readonly dataDir: string;
  readonly directory:
    | { readonly kind: 'ldif'; readonly file: string }
    | { readonly kind: 'ldap'; readonly url: string; readonly baseDn: string; readonly bindDn?: string; readonly bindPassword?: string };
  /** Optional local super-admin, independent of the directory (password given by env, never stored in clear). */
  readonly localAdmin: { readonly login: string; readonly password: string } | null;
  /** Parc delegations for holders of a right who are not system_is_admin (SE3's `delegation` table). */
  readonly delegations: readonly { readonly login: string; readonly parc: string }[];
  readonly network: {
    readonly serverIp: string;
    readonly publicBaseUrl: string;
    /** Wake-on-LAN destinations; default: the directed broadcast of dhcp.subnet. */
    readonly wakeBroadcasts?: readonly string[];
  };
  readonly dhcp: {
    readonly interface: string;
    readonly subnet: string;
    readonly gateway: string | null;
    readonly dynamicRange: { readonly start: string; readonly end: string } | null;
    readonly configFile: string;
    readonly pidFile: string | null;
  };
  /** Module package roots the shell offers on its module page. */
  readonly modules: readonly string[];
  /** Initial module settings merged over each manifest's defaults (never over values already saved). */
  readonly moduleSettings: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Seed the DHCP reservations from the directory's computers on first start (demo data). */
  readonly seedReservationsFromDirectory: boolean;
  /** Login throttling (src/shell/login-throttle.ts); each key optional, defaults there. */
  readonly login?: Partial<ThrottlePolicy>;
}

export function defaultConfig(appRoot: string): ShellConfig {
  const dataDir = path.join(appRoot, 'var');
  return {
    listen: { host: '127.0.0.1', port: 8080 },
    appRoot,
    dataDir,
    directory: { kind: 'ldif', file: path.join(appRoot, 'test/fixtures/se3.ldif') },
    localAdmin: null,
    delegations: [{ login: 'tech1', parc: 'salle101' }],
    network: { serverIp: '10.77.0.1', publicBaseUrl: 'http://10.77.0.1:8080' },
    dhcp: {
      interface: 'br0',
      subnet: '10.77.0.0/24',
      gateway: null,
      dynamicRange: { start: '10.77.0.100', end: '10.77.0.199' },
      configFile: path.join(dataDir, 'dnsmasq.conf'),
      pidFile: null,
    },
    modules: [appRoot],
    moduleSettings: {},
    seedReservationsFromDirectory: true,
  };
}

/** Merges a JSON config file and environment over the defaults, then validates. */
export function loadConfig(appRoot: string, env: NodeJS.ProcessEnv): ShellConfig {
  let cfg: ShellConfig = defaultConfig(appRoot);
  if (env.CLONAGE_CONFIG) {
    let fromFile: unknown;
    try {
      fromFile = JSON.parse(fs.readFileSync(env.CLONAGE_CONFIG, 'utf8'));
    } catch (e) {
      throw new InputError(`cannot read config ${env.CLONAGE_CONFIG}: ${(e as Error).message}`);
    }
    cfg = deepMerge(cfg, fromFile) as ShellConfig;
  }
  if (env.PORT) cfg = { ...cfg, listen: { ...cfg.listen, port: Number(env.PORT) } };
  if (env.CLONAGE_DATA_DIR) cfg = { ...cfg, dataDir: env.CLONAGE_DATA_DIR, dhcp: { ...cfg.dhcp, configFile: path.join(env.CLONAGE_DATA_DIR, 'dnsmasq.conf') } };
  if (env.CLONAGE_ADMIN_PASSWORD) cfg = { ...cfg, localAdmin: { login: env.CLONAGE_ADMIN_LOGIN ?? 'superadmin', password: env.CLONAGE_ADMIN_PASSWORD } };
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(cfg: ShellConfig): void {
  const p = cfg.listen.port;
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new InputError(`listen.port: ${p} is not a TCP port`);
  const pc = cfg.listen.pc;
  if (pc !== undefined && (typeof pc.host !== 'string' || !Number.isInteger(pc.port) || pc.port < 0 || pc.port > 65535)) {
    throw new InputError('listen.pc: expected { "host": "<address on the PCs\' network>", "port": <TCP port> }');
  }
  Ipv4.parse(cfg.network.serverIp, 'network.serverIp');
  if (!/^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/.test(cfg.network.publicBaseUrl) || cfg.network.publicBaseUrl.endsWith('/')) {
    throw new InputError('network.publicBaseUrl: expected http://host:port without trailing slash');
  }
  if (cfg.localAdmin && cfg.localAdmin.password.length < 8) throw new InputError('local admin password: at least 8 characters');
  for (const [k, v] of Object.entries(cfg.login ?? {})) {
    if (!(k in DEFAULT_THROTTLE) || !Number.isInteger(v) || (v as number) < 1 || (v as number) > 1_000_000) throw new InputError(`login.${k}: a whole number 1..1000000 expected`);
  }
  if (cfg.directory.kind === 'ldap' && !/^ldaps?:\/\//.test(cfg.directory.url)) throw new InputError('directory.url: expected ldap:// or ldaps://');
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (Array.isArray(over) || typeof over !== 'object' || over === null) return over;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
  return out;
}
