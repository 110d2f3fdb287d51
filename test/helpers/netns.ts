/**
 * Test networks made of Linux network namespaces: one "bridge" namespace (br0, the server side,
 * 10.77.N.1/24) and N host namespaces ("PCs"), each with eth0 = one end of a veth whose other end
 * is a port of br0. Both veth ends are created directly inside namespaces, so the host's own
 * interfaces and addresses are never touched. Names are unique per test run (`cln<pid><n>`).
 *
 * Every process spawned through these helpers runs in its own process group; teardown kills the
 * groups, then every PID still inside our namespaces (`ip netns pids`), then deletes the namespaces.
 */
import { ChildProcess, execFileSync, spawn, SpawnOptions } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import * as http from 'http';
import * as netModule from 'net';

export interface NetHost {
  ns: string;
  ip: string;
  iface: string;
}

export interface TestNet {
  prefix: string;
  bridgeNs: string;
  bridgeIp: string;
  hosts: NetHost[];
  children: ChildProcess[];
}

let counter = 0;

/** Absolute path: a test's PATH may put busybox applets (whose `ip` has no netns) first. */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';

/** Why namespace tests cannot run here, or null when they can (root + `ip netns`). */
export function netnsUnavailableReason(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  try {
    execFileSync(IP, ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return '`ip netns` is not available';
  }
  return null;
}

function ip(args: string[]): void {
  execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNs(ns: string, args: string[]): void {
  ip(['netns', 'exec', ns, ...args]);
}

/** Creates the bridge namespace and `hostCount` PCs. Cleans up what it made if it fails half-way. */
export function createTestNet(hostCount: number): TestNet {
  counter += 1;
  const prefix = `cln${process.pid}${counter}`;
  const subnet = `10.77.${counter % 250}`;
  const net: TestNet = { prefix, bridgeNs: `${prefix}b`, bridgeIp: `${subnet}.1`, hosts: [], children: [] };
  try {
    ip(['netns', 'add', net.bridgeNs]);
    inNs(net.bridgeNs, ['ip', 'link', 'set', 'lo', 'up']);
    inNs(net.bridgeNs, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    // IGMP snooping would drop udpcast's multicast until a querier shows up.
    inNs(net.bridgeNs, ['ip', 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    inNs(net.bridgeNs, ['ip', 'addr', 'add', `${net.bridgeIp}/24`, 'brd', '+', 'dev', 'br0']);
    inNs(net.bridgeNs, ['ip', 'link', 'set', 'br0', 'up']);
    for (let i = 0; i < hostCount; i++) {
      const host: NetHost = { ns: `${prefix}h${i}`, ip: `${subnet}.${11 + i}`, iface: 'eth0' };
      ip(['netns', 'add', host.ns]);
      net.hosts.push(host);
      ip(['link', 'add', 'veth0', 'netns', host.ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', net.bridgeNs]);
      inNs(net.bridgeNs, ['ip', 'link', 'set', `p${i}`, 'master', 'br0']);
      inNs(net.bridgeNs, ['ip', 'link', 'set', `p${i}`, 'up']);
      inNs(host.ns, ['ip', 'link', 'set', 'lo', 'up']);
      inNs(host.ns, ['ip', 'link', 'set', 'veth0', 'name', 'eth0']);
      // "brd +": udp-receiver says hello to the broadcast address; without one it sends to 0.0.0.0.
      inNs(host.ns, ['ip', 'addr', 'add', `${host.ip}/24`, 'brd', '+', 'dev', 'eth0']);
      inNs(host.ns, ['ip', 'link', 'set', 'eth0', 'up']);
      inNs(host.ns, ['ip', 'route', 'add', 'default', 'via', net.bridgeIp, 'dev', 'eth0']);
    }
  } catch (err) {
    destroyTestNet(net);
    throw err;
  }
  return net;
}

/** Adds a tap device, port of br0, for a QEMU PC (`-netdev tap,ifname=<name>,script=no`). */
export function addTap(net: TestNet, name: string): void {
  inNs(net.bridgeNs, ['ip', 'tuntap', 'add', 'dev', name, 'mode', 'tap']);
  inNs(net.bridgeNs, ['ip', 'link', 'set', name, 'master', 'br0']);
  inNs(net.bridgeNs, ['ip', 'link', 'set', name, 'up']);
}

/** Spawns `cmd args…` inside a namespace (argument array, no shell), tracked for teardown. */
export function spawnInNs(net: TestNet, ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(IP, ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', ...opts, detached: true });
  net.children.push(child);
  return child;
}

/**
 * Makes a server listening on a Unix socket of the host reachable at ip:port inside `ns`: Node
 * cannot listen inside another namespace, but socket paths cross network namespaces. Resolves
 * once the relay listens; the relay is one of the net's children (killed by destroyTestNet).
 * `peer`: the relay first sends a PROXY protocol v1 line with the client's address, which
 * listenUnixWithPeer() turns back into the socket's remoteAddress (the module binds agent calls
 * to the PC's address, which a plain relay would hide).
 */
export async function relayTcpToUnix(net: TestNet, ns: string, ip: string, port: number, socketPath: string, opts: { peer?: boolean } = {}): Promise<ChildProcess> {
  const code = [
    "const net = require('net');",
    'const [host, port, sock, peer] = process.argv.slice(1);',
    'net.createServer((c) => {',
    '  const u = net.connect(sock);',
    "  if (peer === 'peer') u.write(`PROXY TCP4 ${c.remoteAddress} ${c.localAddress} ${c.remotePort} ${c.localPort}\\r\\n`);",
    '  c.pipe(u); u.pipe(c);',
    '  c.on("error", () => u.destroy()); u.on("error", () => c.destroy());',
    '}).listen(Number(port), host, () => console.log("ready"));',
  ].join('\n');
  const relay = spawnInNs(net, ns, process.execPath, ['-e', code, ip, String(port), socketPath, opts.peer ? 'peer' : '']);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    relay.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    relay.once('exit', (c) => reject(new Error(`relay exited with ${c}`)));
  });
  return relay;
}

/** What a test closes: the HTTP server behind listenUnixWithPeer and its Unix listener. */
export interface PeerServer {
  closeAllConnections(): void;
  close(cb: (err?: unknown) => void): void;
}

/**
 * An HTTP server on a Unix socket behind relayTcpToUnix(…, { peer: true }): the PROXY line of
 * each connection sets the socket's remoteAddress to the PC's address, as a TCP listener would see it.
 */
export async function listenUnixWithPeer(handler: http.RequestListener, socketPath: string): Promise<PeerServer> {
  const server = http.createServer(handler);
  const front = netModule.createServer((c) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n');
      if (end < 0) {
        if (head.length > 108) c.destroy(); // PROXY v1 lines are at most 107 bytes
        return;
      }
      c.off('data', onData);
      c.pause();
      const m = /^PROXY TCP4 (\d{1,3}(?:\.\d{1,3}){3}) /.exec(head.subarray(0, end).toString('latin1'));
      if (!m) return c.destroy();
      Object.defineProperty(c, 'remoteAddress', { value: m[1] });
      const rest = head.subarray(end + 2);
      if (rest.length) c.unshift(rest);
      server.emit('connection', c);
      c.resume();
    };
    c.on('data', onData);
    c.on('error', () => c.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(socketPath, resolve);
  });
  return {
    closeAllConnections: () => server.closeAllConnections(),
    close: (cb) => {
      server.close();
      front.close(() => cb());
    },
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Resolves when the child exits; kills its process group after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => killGroup(child), timeoutMs);
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    };
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
    else child.once('close', done);
  });
}

/** Runs a command in a namespace to completion. */
export function runInNs(net: TestNet, ns: string, cmd: string, args: string[], timeoutMs = 30000, opts: SpawnOptions = {}): Promise<RunResult> {
  return waitForExit(spawnInNs(net, ns, cmd, args, opts), timeoutMs);
}

/** PIDs currently inside a namespace. */
export function pidsInNs(ns: string): number[] {
  try {
    return execFileSync(IP, ['netns', 'pids', ns], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map((l) => Number(l.trim()));
  } catch {
    return [];
  }
}

/** Short command name of a PID ("" if gone). */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

function nsExists(ns: string): boolean {
  try {
    return execFileSync(IP, ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .some((l) => l.split(' ')[0] === ns);
  } catch {
    return false;
  }
}

/** Idempotent and failure-tolerant: safe in afterAll whatever state the test left. */
export function destroyTestNet(net: TestNet | undefined): void {
  if (!net) return;
  for (const child of net.children) killGroup(child);
  const all = [net.bridgeNs, ...net.hosts.map((h) => h.ns)];
  for (const ns of all) {
    for (const pid of pidsInNs(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const ns of all) {
    if (!nsExists(ns)) continue;
    try {
      ip(['netns', 'del', ns]);
    } catch {
      /* reported by the leak check of the caller, if any */
    }
  }
}
