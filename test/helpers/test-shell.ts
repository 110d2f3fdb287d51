import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, type ShellConfig } from '../../src/shell/config';
import { startShell, type Shell } from '../../src/shell/shell';
import { memoryLogger } from '../../src/shell/logger';
import { PageClient } from './browserless-client';
import type { Clock } from '../../src/host/contract';

export const APP_ROOT = path.resolve(__dirname, '..', '..');

/** Test accounts of test/fixtures/se3.ldif. */
export const USERS = {
  admin: { login: 'admin', password: 'admin-test-pw' },
  tech1: { login: 'tech1', password: 'tech1-test-pw' },
  prof1: { login: 'prof1', password: 'prof1-test-pw' },
  eleve1: { login: 'eleve1', password: 'eleve1-test-pw' },
};

export interface TestShell extends Shell {
  readonly dataDir: string;
  readonly logLines: string[];
  stopAndClean(): Promise<void>;
}

/** A toolkit named `clonage` with dummy kernel and initrd, so job plans render their kernel line. */
export function installFakeToolkit(dataDir: string): void {
  const dir = path.join(dataDir, 'modules/clonage/toolkits/clonage');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'vmlinuz'), 'KERNEL');
  fs.writeFileSync(path.join(dir, 'initrd.img'), 'INITRD');
}

/**
 * The real standalone shell on a loopback ephemeral port, with a temporary data dir. A new data
 * dir gets a stand-in `clonage` toolkit (a ready server: the wizard refuses actions without one)
 * unless `bare` asks for a fresh install.
 */
export async function startTestShell(
  overrides: Partial<ShellConfig> = {},
  opts: { autoEnable?: string[]; clock?: Clock; beforeStart?: (dataDir: string) => void; /** an existing data dir (restart tests) */ dataDir?: string;
    bare?: boolean } = {},
): Promise<TestShell> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-shell-'));
  if (!opts.dataDir && !opts.bare) installFakeToolkit(dataDir);
  const base = defaultConfig(APP_ROOT);
  const config: ShellConfig = {
    ...base,
    dataDir,
    listen: { host: '127.0.0.1', port: 0 },
    dhcp: { ...base.dhcp, configFile: path.join(dataDir, 'dnsmasq.conf') },
    // tests send Wake-on-LAN to loopback only, never to the demo subnet's broadcast on a real network
    network: { ...base.network, wakeBroadcasts: ['127.255.255.255'] },
    // parallel test shells must not fight over the embedded TFTP port; agent calls come from
    // loopback, not from the directory's reserved 10.77.0.x: they are bound to the address that
    // fetched the job (agent-address.test.ts and the QEMU e2e suites run `reserved`, the default)
    moduleSettings: { clonage: { 'tftp.port': 0, 'tftp.bindAddress': '127.0.0.1', 'agent.addressCheck': 'fetcher' } },
    ...overrides,
  };
  opts.beforeStart?.(dataDir);
  const lines: string[] = [];
  const shell = await startShell(config, {
    clock: opts.clock ?? { now: () => new Date() },
    logger: () => memoryLogger(lines),
    autoEnable: opts.autoEnable ?? [],
    keepAliveTimeoutMs: 0, // only the client closes idle sockets (see ShellOptions)
  });
  return Object.assign(shell, {
    dataDir,
    logLines: lines,
    async stopAndClean() {
      await shell.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** A page client logged in through the real login form as one of the fixture's users. */
export async function loggedIn(shell: { readonly url: string }, who: keyof typeof USERS): Promise<PageClient> {
  const c = new PageClient(shell.url);
  const status = await c.login(USERS[who].login, USERS[who].password);
  if (status !== 303) throw new Error(`login as ${who} answered ${status}, expected 303`);
  return c;
}
