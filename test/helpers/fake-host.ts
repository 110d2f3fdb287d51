/**
 * A HostContext for tests of the module's services and routes: in-memory directory and DHCP,
 * a settable clock, fixed users chosen per request with the `x-test-user` header, CSRF accepted
 * (the shell's own CSRF check is tested with the shell). Views render without the shell layout.
 * It stands in for the host at the process boundary only: the real shell is tested elsewhere.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import ejs from 'ejs';
import express, { type Express, type Request } from 'express';
import type {
  Clock, DhcpApi, DhcpReservation, Directory, DirectoryComputer, DirectoryParc, HostContext, HostUser, Right, SettingsStore,
} from '../../src/host/contract';
import { ForbiddenError, UnauthorizedError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import { memoryLogger } from './memory-logger';
import { FORM_LIMITS } from '../../src/shell/shell-app';
import manifest from '../../module.json';

export class FakeClock implements Clock {
  constructor(private t = new Date('2025-03-10T08:00:00Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  set(d: Date | string): void {
    this.t = new Date(d);
  }
  advanceMinutes(m: number): Date {
    this.t = new Date(this.t.getTime() + m * 60_000);
    return this.now();
  }
}

export class MemorySettings implements SettingsStore {
  private readonly values = new Map<string, unknown>();
  constructor(defaults: Record<string, unknown> = manifest.settings) {
    for (const [k, v] of Object.entries(defaults)) this.values.set(k, v);
  }
  get<T>(key: string): T | undefined {
    return this.values.get(key) as T | undefined;
  }
  getOr<T>(key: string, fallback: T): T {
    const v = this.values.get(key);
    return v === undefined || v === null ? fallback : (v as T);
  }
  set(key: string, value: unknown): void {
    this.values.set(key, value);
  }
  delete(key: string): void {
    this.values.delete(key);
  }
  all(): Record<string, unknown> {
    return Object.fromEntries(this.values);
  }
}

export interface FakeMachine {
  readonly name: string;
  readonly mac: string;
  readonly ip: string;
  /** false: in the directory but without a DHCP reservation (not selectable). */
  readonly reserved?: boolean;
}

/** Default lab: salle1 pc01..pc04, salle2 pc05..pc06 plus pc07 without reservation. */
export const LAB: Record<string, FakeMachine[]> = {
  salle1: [1, 2, 3, 4].map((n) => ({ name: `pc0${n}`, mac: `02:00:00:00:00:0${n}`, ip: `10.0.0.${10 + n}` })),
  salle2: [
    { name: 'pc05', mac: '02:00:00:00:00:05', ip: '10.0.0.15' },
    { name: 'pc06', mac: '02:00:00:00:00:06', ip: '10.0.0.16' },
    { name: 'pc07', mac: '02:00:00:00:00:07', ip: '10.0.0.17', reserved: false },
  ],
};

/**
 * The default lab with salle1's reservations on these addresses (pc01 on the first…): the module
 * binds agent calls to a PC's reserved IP, so PCs run in namespaces get their namespace's address.
 */
export function labOn(ips: readonly string[]): Record<string, FakeMachine[]> {
  return { ...LAB, salle1: LAB.salle1.map((m, i) => (ips[i] ? { ...m, ip: ips[i] } : m)) };
}

export class MemoryDirectory implements Directory {
  constructor(private readonly lab: Record<string, FakeMachine[]>) {}
  private computer(m: FakeMachine): DirectoryComputer {
    return { name: m.name, ip: Ipv4.parse(m.ip), mac: Mac.parse(m.mac), description: null, problems: [] };
  }
  async listParcs(): Promise<DirectoryParc[]> {
    return Object.entries(this.lab).map(([name, ms]) => ({ name, members: ms.map((m) => m.name) }));
  }
  async getParc(name: string): Promise<DirectoryParc | null> {
    return (await this.listParcs()).find((p) => p.name === name) ?? null;
  }
  async listComputers(): Promise<DirectoryComputer[]> {
    return Object.values(this.lab).flat().map((m) => this.computer(m));
  }
  async getComputer(name: string): Promise<DirectoryComputer | null> {
    return (await this.listComputers()).find((c) => c.name === name) ?? null;
  }
  async computersInParc(parc: string): Promise<DirectoryComputer[]> {
    return (this.lab[parc] ?? []).map((m) => this.computer(m)).sort((a, b) => a.name.localeCompare(b.name));
  }
  async rightHolders(_right: Right): Promise<string[]> {
    return ['admin', 'prof'];
  }
}

export class MemoryDhcp implements DhcpApi {
  readonly reservations: DhcpReservation[];
  constructor(lab: Record<string, FakeMachine[]>) {
    this.reservations = Object.values(lab)
      .flat()
      .filter((m) => m.reserved !== false)
      .map((m) => ({ mac: Mac.parse(m.mac), ip: Ipv4.parse(m.ip), name: Hostname.parse(m.name) }));
  }
  listReservations(): DhcpReservation[] {
    return [...this.reservations];
  }
  findByMac(mac: Mac): DhcpReservation | null {
    return this.reservations.find((r) => r.mac.equals(mac)) ?? null;
  }
  findByName(name: Hostname): DhcpReservation | null {
    return this.reservations.find((r) => r.name.toString() === name.toString()) ?? null;
  }
  findByIp(ip: Ipv4): DhcpReservation | null {
    return this.reservations.find((r) => r.ip.equals(ip)) ?? null;
  }
  setPxeBoot(): void {}
  onChange(): () => void {
    return () => undefined;
  }
}

/** Logins known to the fake host, with the parcs each may act on. */
export const USERS: Record<string, { user: HostUser; parcs: 'all' | string[] }> = {
  admin: { user: { login: 'admin', displayName: 'Admin' }, parcs: 'all' },
  prof: { user: { login: 'prof', displayName: 'Prof' }, parcs: ['salle2'] },
  nobody: { user: { login: 'nobody', displayName: 'Nobody' }, parcs: [] },
};

export interface FakeHost extends HostContext {
  readonly clock: FakeClock;
  readonly settings: MemorySettings;
  readonly logger: ReturnType<typeof memoryLogger>;
  readonly dbFile: string;
  cleanup(): void;
}

/** A fake host on a real SQLite file in a fresh temp dir (`dbFile` can be reopened to test restarts). */
export function createFakeHost(opts: { dbFile?: string; lab?: Record<string, FakeMachine[]>; clock?: FakeClock } = {}): FakeHost {
  const dir = mkdtempSync(join(tmpdir(), 'clonage-test-'));
  const dbFile = opts.dbFile ?? join(dir, 'clonage.sqlite');
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  const lab = opts.lab ?? LAB;
  const router = express.Router();
  const userOf = (req: Request): HostUser | null => {
    const login = req.get('x-test-user') ?? 'admin';
    return USERS[login]?.user ?? null;
  };
  const parcsOf = async (user: HostUser) => USERS[user.login]?.parcs ?? [];
  // test/helpers → the repository; compiled (dist/test/helpers, the benches) one level more
  const moduleRoot = [join(__dirname, '../..'), join(__dirname, '../../..')].find((d) => existsSync(join(d, 'netlogon'))) ?? join(__dirname, '../..');
  return {
    moduleId: 'clonage',
    moduleRoot,
    dataDir: dir,
    db,
    dbFile,
    // TFTP (started by register()) on a free loopback port: tests run in parallel.
    settings: new MemorySettings({ ...manifest.settings, 'tftp.port': 0, 'tftp.bindAddress': '127.0.0.1' }),
    logger: memoryLogger(),
    clock: opts.clock ?? new FakeClock(),
    directory: new MemoryDirectory(lab),
    dhcp: new MemoryDhcp(lab),
    network: { serverIp: Ipv4.parse('10.0.0.1'), publicBaseUrl: 'http://10.0.0.1:8080', wakeBroadcasts: [Ipv4.parse('10.0.0.255')] },
    web: {
      router,
      mountPath: '/modules/clonage',
      currentUser: userOf,
      can: async (user) => (await parcsOf(user)) === 'all' || ((await parcsOf(user)) as string[]).length > 0,
      parcsOf: async (user) => parcsOf(user),
      requireRight: () => async (req, _res, next) => {
        const u = userOf(req);
        if (!u) return next(new UnauthorizedError('not logged in'));
        const p = await parcsOf(u);
        next(p === 'all' || p.length > 0 ? undefined : new ForbiddenError('right required'));
      },
      csrfToken: () => 'test-csrf',
      verifyCsrf: (_req, _res, next) => next(),
      // the message itself stands for its id here: there is no layout to show it
      flash: (_req, message) => encodeURIComponent(message),
      // the module's French default; a test can ask for English as a browser would
      locale: (req) => (req.get('accept-language')?.startsWith('en') ? 'en' : 'fr'),
      render: async (req, res, view, locals) => {
        const html = await ejs.renderFile(join(moduleRoot, 'pages', `${view}.ejs`), { ...locals, csrfToken: 'test-csrf', user: userOf(req) });
        res.type('html').send(html);
      },
    },
    cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An express app with the shell's body parsing and the module router at its mount path. */
export function fakeHostApp(host: HostContext): Express {
  const app = express();
  app.use(express.urlencoded({ extended: false, limit: FORM_LIMITS.bytes, parameterLimit: FORM_LIMITS.parameters })); // as the shell
  app.use(host.web.mountPath, host.web.router);
  return app;
}

export async function listen(app: Express): Promise<{ server: Server; base: string }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server: withoutIdleClose(server), base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * For a server that the test's own fetch() calls in the same process: the server never closes an
 * idle keep-alive connection, only the client does (undici drops idle sockets after 4 s).
 *
 * Why: client and server share one event loop. With Node's default (5 s idle close), a loop
 * stalled on a loaded machine lets fetch write its next request on a pooled socket, then runs the
 * timers phase (server idle timeout: socket destroyed with the request unread, hence an RST) before
 * the poll phase that would have read it: the test fails with ECONNRESET. server.close() (Node ≥ 19)
 * still closes idle connections, so teardown is unchanged.
 */
export function withoutIdleClose(server: Server): Server {
  server.keepAliveTimeout = 0;
  return server;
}
