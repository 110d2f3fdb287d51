import fs from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Database } from 'better-sqlite3';
import type { Clock, Directory, Logger } from '../host/contract';
import type { Authenticator } from './directory/authenticator';
import { LdifDirectory } from './directory/ldif-directory';
import { LdapDirectory } from './directory/ldap-directory';
import { Ipv4Subnet } from '../common/domain/ipv4';
import { Ipv4 } from '../common/domain/ipv4';
import { openDatabase } from './open-database';
import type { ShellConfig } from './config';
import { createDhcp, type ShellDhcp } from './dhcp-wiring';
import { jsonLogger } from './logger';
import { secureDataDir, SERVICE_UMASK } from './data-dir';
import { SecretBox } from './secret-box';
import { ModuleHost } from './module-host';
import { Rights } from './rights';
import { SessionStore } from './sessions';
import { DEFAULT_THROTTLE, LoginThrottle } from './login-throttle';
import { createPcApp, createShellApp } from './shell-app';
import { ShellWeb } from './shell-web';
import { UserLocales } from './user-locales';

export interface Shell {
  readonly db: Database;
  readonly modules: ModuleHost;
  readonly dhcp: ShellDhcp;
  readonly directory: Directory;
  /** Listening port (useful when config.listen.port is 0). */
  readonly port: number;
  readonly url: string;
  /** The PCs' listener (config listen.pc), or null when PCs use the admin listener. */
  readonly pcUrl: string | null;
  stop(): Promise<void>;
}

export interface ShellOptions {
  readonly clock: Clock;
  readonly logger?: (scope: string) => Logger;
  /** Enable these modules at start if not yet enabled (the demo start does this for clonage). */
  readonly autoEnable?: readonly string[];
  /**
   * Idle keep-alive timeout of the HTTP server (Node's default, 5 s, when absent). Tests pass 0:
   * their client shares the server's event loop, and a loop stalled past the timeout lets the
   * server drop a socket the client is already reusing (ECONNRESET). Browsers retry that case.
   */
  readonly keepAliveTimeoutMs?: number;
}

/** Builds and starts the whole standalone host from its configuration. */
export async function startShell(config: ShellConfig, opts: ShellOptions): Promise<Shell> {
  const logger = opts.logger ?? ((scope: string) => jsonLogger(scope));
  const log = logger('shell');
  // Only the service's user reads the data dir (database with service passwords, images): files
  // created from now on are 0600 and folders 0700, an older install is fixed (data-dir.ts).
  // Restored at stop, for processes (tests) that run a shell among other work.
  const previousUmask = process.umask(SERVICE_UMASK);
  fs.mkdirSync(config.dataDir, { recursive: true });
  secureDataDir(config.dataDir, log);
  const db = openDatabase(path.join(config.dataDir, 'shell.sqlite'));

  const { directory, authenticator } = await openDirectory(config);
  const subnet = Ipv4Subnet.parse(config.dhcp.subnet, 'dhcp.subnet');
  const dhcp = createDhcp(db, config, opts.clock, logger('dhcp'));
  if (config.seedReservationsFromDirectory) await dhcp.seedFromDirectory(directory);

  const rights = new Rights(directory, config.delegations, config.localAdmin?.login ?? null);
  const sessions = new SessionStore(db, opts.clock);
  const viewsDir = path.join(config.appRoot, 'src/shell/views');
  let modules: ModuleHost | null = null;
  const web = new ShellWeb(sessions, rights, viewsDir, (user, locale) => (modules ? modules.menuFor(user, locale) : Promise.resolve([])));
  modules = new ModuleHost({
    db,
    clock: opts.clock,
    logger,
    directory,
    dhcp: dhcp.api,
    network: {
      serverIp: Ipv4.parse(config.network.serverIp, 'network.serverIp'),
      publicBaseUrl: config.network.publicBaseUrl,
      wakeBroadcasts: config.network.wakeBroadcasts?.map((a, i) => Ipv4.parse(a, `network.wakeBroadcasts[${i}]`)) ?? [subnet.broadcast],
    },
    web,
    dataDir: config.dataDir,
    moduleSettings: config.moduleSettings,
    secrets: SecretBox.open(config.dataDir),
  });
  modules.discover(config.modules);

  const app = createShellApp({
    web,
    sessions,
    userLocales: new UserLocales(db),
    modules,
    directory,
    authenticator,
    localAdmin: config.localAdmin,
    throttle: new LoginThrottle(db, opts.clock, { ...DEFAULT_THROTTLE, ...config.login }),
    logger: log,
    staticDir: path.join(config.appRoot, 'src/shell/static'),
    extraRoutes: (a) => dhcp.routes(a, web),
  });

  for (const id of opts.autoEnable ?? []) {
    if (!modules.list().find((m) => m.manifest.id === id)?.enabled) await modules.enable(id);
  }
  await modules.startEnabled();

  const listen = (a: Express, host: string, port: number): Promise<Server> =>
    new Promise((resolve, reject) => {
      const s = a.listen(port, host, () => resolve(s));
      s.once('error', reject);
      if (opts.keepAliveTimeoutMs !== undefined) s.keepAliveTimeout = opts.keepAliveTimeoutMs;
    });
  const server = await listen(app, config.listen.host, config.listen.port);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const url = `http://${config.listen.host}:${port}`;
  log.info('shell listening', { url });
  let pcServer: Server | null = null;
  let pcUrl: string | null = null;
  if (config.listen.pc) {
    pcServer = await listen(createPcApp({ web, modules, logger: log }), config.listen.pc.host, config.listen.pc.port);
    const a = pcServer.address();
    pcUrl = `http://${config.listen.pc.host}:${typeof a === 'object' && a ? a.port : config.listen.pc.port}`;
    log.info('PC listener (boot and agent routes only)', { url: pcUrl });
  }
  const close = (s: Server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });

  const mh = modules;
  return {
    db,
    modules: mh,
    dhcp,
    directory,
    port,
    url,
    pcUrl,
    async stop() {
      await Promise.all([server, ...(pcServer ? [pcServer] : [])].map(close));
      await mh.stopAll();
      if ('close' in directory && typeof (directory as { close?: unknown }).close === 'function') {
        await (directory as unknown as { close(): Promise<void> }).close();
      }
      db.close();
      process.umask(previousUmask);
    },
  };
}

async function openDirectory(config: ShellConfig): Promise<{ directory: Directory; authenticator: Authenticator }> {
  const d = config.directory;
  if (d.kind === 'ldif') {
    const dir = await LdifDirectory.fromFile(d.file);
    return { directory: dir, authenticator: dir };
  }
  const dir = new LdapDirectory({ url: d.url, baseDn: d.baseDn, bindDn: d.bindDn, bindPassword: d.bindPassword });
  return { directory: dir, authenticator: dir };
}
