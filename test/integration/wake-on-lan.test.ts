/**
 * Wake-on-LAN on real sockets.
 * 1. Loopback: a dgram listener on 127.0.0.1 receives exactly the magic packets WakeOnLan sends.
 * 2. Network namespaces: WakeOnLan runs in namespace A (a child node process, our TypeScript
 *    transpiled for it) and sends to the directed broadcast 10.77.50.255 port 9; a listener in
 *    namespace B, across a veth pair, receives it, as a sleeping PC's NIC would see the frame.
 * Nothing is sent outside loopback and the two private namespaces, removed in afterAll with the
 * child processes (by PID). The namespace part needs root and ip(8); it is skipped otherwise.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import { buildMagicPacket, parseWakeDestination, SecureOnPassword, WakeOnLan } from '../../src/wake/wake-on-lan';

const MAC = Mac.parse('52:54:00:50:00:02');

describe('WakeOnLan on loopback', () => {
  let listener: dgram.Socket;
  let port: number;
  const received: { packet: Buffer; from: string }[] = [];

  beforeAll(async () => {
    listener = dgram.createSocket('udp4');
    listener.on('message', (packet, rinfo) => received.push({ packet, from: rinfo.address }));
    await new Promise<void>((resolve) => listener.bind(0, '127.0.0.1', resolve));
    port = listener.address().port;
  });
  afterAll(() => listener.close());
  beforeEach(() => received.splice(0));

  async function until(n: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while (received.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  it('the listener gets exactly the magic packet, repeat times', async () => {
    const wol = new WakeOnLan({ destinations: [parseWakeDestination('127.0.0.1', port)], intervalMs: 20 }); // from lo, found by its subnet
    const report = await wol.wake(MAC);
    await until(3);
    await new Promise((r) => setTimeout(r, 50)); // nothing more arrives
    expect(report.packetsSent).toBe(3);
    expect(received).toHaveLength(3);
    for (const r of received) {
      expect(r.packet.toString('hex')).toBe(`${'ff'.repeat(6)}${'525400500002'.repeat(16)}`);
      expect(r.from).toBe('127.0.0.1');
    }
  });

  it('with a SecureOn password the packet is 108 bytes', async () => {
    const wol = new WakeOnLan({ destinations: [parseWakeDestination('127.0.0.1', port)], repeat: 1 });
    await wol.wake(MAC, { secureOn: SecureOnPassword.parse('11:22:33:44:55:66') });
    await until(1);
    expect(received).toHaveLength(1);
    expect(received[0].packet).toEqual(buildMagicPacket(MAC, SecureOnPassword.parse('112233445566')));
  });
});

// ---------------------------------------------------------------- namespaces

const NS_A = `cln-wol-${process.pid}-a`;
const NS_B = `cln-wol-${process.pid}-b`;
const VETH_A = `cwl${process.pid}a`; // IFNAMSIZ: at most 15 characters
const VETH_B = `cwl${process.pid}b`;

function netnsUsable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `cln-wol-${process.pid}-probe`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Transpiles the entries and the relative modules they require into `outRoot`, keeping the layout. */
function transpileTree(entries: string[], repoRoot: string, outRoot: string): void {
  const pending = entries.map((e) => path.resolve(repoRoot, e));
  const done = new Set<string>();
  while (pending.length) {
    const file = pending.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const out = path.join(outRoot, path.relative(repoRoot, file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, js);
    for (const m of js.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) pending.push(path.resolve(path.dirname(file), `${m[1]}.ts`));
  }
}

const d = netnsUsable() ? describe : describe.skip;

d('WakeOnLan to a directed broadcast, between two network namespaces', () => {
  const repoRoot = path.resolve(__dirname, '..', '..');
  const children: ChildProcess[] = [];
  let built: string;

  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

  beforeAll(() => {
    built = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-wol-js-'));
    transpileTree(['src/wake/wake-on-lan.ts', 'src/common/domain/mac.ts'], repoRoot, built);
    ip('netns', 'add', NS_A);
    ip('netns', 'add', NS_B);
    ip('link', 'add', VETH_A, 'netns', NS_A, 'type', 'veth', 'peer', 'name', VETH_B, 'netns', NS_B);
    ip('-n', NS_A, 'addr', 'add', '10.77.50.1/24', 'brd', '10.77.50.255', 'dev', VETH_A);
    ip('-n', NS_B, 'addr', 'add', '10.77.50.2/24', 'brd', '10.77.50.255', 'dev', VETH_B);
    for (const [ns, dev] of [[NS_A, VETH_A], [NS_B, VETH_B]]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    for (const ns of [NS_A, NS_B]) {
      try {
        ip('netns', 'del', ns); // takes its end of the veth pair with it
      } catch {
        // already gone
      }
    }
    if (built) fs.rmSync(built, { recursive: true, force: true });
  });

  /** Runs `node -e script` inside a namespace; resolves with stdout once `done(stdout)` says so. */
  function nodeIn(ns: string, script: string, done: (out: string) => boolean, timeoutMs = 15000): Promise<string> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout in ${ns}: ${out} ${err}`)), timeoutMs);
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (done(out)) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (done(out)) resolve(out);
        else reject(new Error(`node in ${ns} exited ${code}: ${out} ${err}`));
      });
    });
  }

  it('a listener on port 9 in the other namespace receives the magic packets', async () => {
    const receiver = `
      const s = require('dgram').createSocket('udp4');
      const got = [];
      s.on('message', (m, r) => { got.push({ hex: m.toString('hex'), from: r.address }); if (got.length === 3) { console.log('GOT ' + JSON.stringify(got)); s.close(); clearTimeout(t); } });
      s.bind(9, '0.0.0.0', () => console.log('READY'));
      const t = setTimeout(() => { console.log('GOT ' + JSON.stringify(got)); process.exit(2); }, 10000);`;
    let receiverOut = '';
    const ready = nodeIn(NS_B, receiver, (o) => {
      receiverOut = o;
      return o.includes('READY');
    });
    await ready;
    const sender = `
      const { WakeOnLan, parseWakeDestination } = require(${JSON.stringify(path.join(built, 'src/wake/wake-on-lan.js'))});
      const { Mac } = require(${JSON.stringify(path.join(built, 'src/common/domain/mac.js'))});
      new WakeOnLan({ destinations: [parseWakeDestination('10.77.50.255', 9)], intervalMs: 50 })
        .wake(Mac.parse('${MAC}'))
        .then((r) => console.log('SENT ' + JSON.stringify(r)), (e) => { console.log('ERR ' + e.message); process.exit(1); });`;
    const sentOut = await nodeIn(NS_A, sender, (o) => /^(SENT|ERR) /m.test(o));
    expect(sentOut).toContain('SENT {"mac":"52:54:00:50:00:02","packetsSent":3,"failures":[]}');
    const deadline = Date.now() + 10000;
    while (!receiverOut.includes('GOT ') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const got = JSON.parse(receiverOut.slice(receiverOut.indexOf('GOT ') + 4).split('\n')[0]) as { hex: string; from: string }[];
    expect(got).toHaveLength(3);
    for (const g of got) {
      expect(g.hex).toBe(buildMagicPacket(MAC).toString('hex'));
      expect(g.from).toBe('10.77.50.1');
    }
  });
});
