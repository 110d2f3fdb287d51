/**
 * Benchmark (not a test): our TftpServer against Debian's tftpd-hpa, both on 127.0.0.1, serving
 * one 32 MiB file to 1 and 50 concurrent curl clients at blksize 512 and 1468.
 *
 * Our server runs in a child node process (this file, forked with --serve) so the bench harness
 * and its 50 client processes do not share its event loop. Every wait is bounded, every process
 * started here is stopped by its PID (tftpd-hpa's per-transfer children too), and results go to
 * JSON plus a Markdown table next to it.
 *
 * Standalone: npx tsc -p tsconfig.json && node dist/bench/tftp-bench.js [out.json]
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectorySource } from '../src/tftp/directory-source';
import { serializeRequest } from '../src/tftp/packet';
import { TftpServer } from '../src/tftp/tftp-server';
import { halfOpenRow, type HalfOpenRow } from './tftp-half-open-bench';

export interface TftpBenchOptions {
  readonly outPath?: string;
  readonly fileBytes?: number;
  readonly clientCounts?: readonly number[];
  readonly blockSizes?: readonly number[];
  /** Upper bound for one scenario (all its clients). */
  readonly scenarioTimeoutMs?: number;
  readonly tftpdPath?: string;
  /** Hosts of the half-open row (8 windowed sessions each; 0 skips the row, default 25). */
  readonly halfOpenHosts?: number;
}

interface Scenario {
  readonly server: 'ours' | 'tftpd-hpa';
  readonly clients: number;
  readonly blksize: number;
  readonly wallMs: number;
  readonly failedClients: number;
  readonly mibPerSecond: number;
}

export interface ServerStats {
  readonly rssBytes: number;
  readonly sessions: number;
  readonly reservedBytes: number;
}

export interface RunningServer {
  readonly port: number;
  /** Our server only: its process's RSS and its session and budget counters. */
  stats?(): Promise<ServerStats>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function execFileResult(program: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(program, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout }),
    );
  });
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, HOST, resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** True once the server answers an RRQ (an ERROR for a missing file is enough). Bounded. */
async function waitUntilServing(port: number, attempts = 50): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, HOST, resolve));
  try {
    for (let i = 0; i < attempts; i++) {
      const answered = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 100);
        s.once('message', () => (clearTimeout(t), resolve(true)));
      });
      s.send(serializeRequest({ op: 'RRQ', filename: 'bench-probe-missing', mode: 'octet' }), port, HOST);
      if (await answered) return true;
    }
    return false;
  } finally {
    s.removeAllListeners('message');
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return Promise.race([new Promise<boolean>((r) => child.once('exit', () => r(true))), sleep(ms).then(() => false)]);
}

async function killByPid(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  // tftpd-hpa forks one process per transfer: stop those children first, by their PIDs.
  const kids = await execFileResult('pgrep', ['-P', String(child.pid)], 5000);
  for (const pid of kids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  child.kill('SIGTERM');
  if (!(await waitExit(child, 3000))) {
    child.kill('SIGKILL');
    await waitExit(child, 3000);
  }
}

export async function startOurs(root: string): Promise<RunningServer> {
  if (!__filename.endsWith('.js')) {
    // Not compiled (e.g. loaded by jest): run in-process rather than fork a .ts file.
    const server = new TftpServer({ source: new DirectorySource(root), port: 0, address: HOST });
    await server.start();
    return { port: server.port, stats: async () => statsOf(server), stop: () => server.stop() };
  }
  const child = fork(__filename, ['--serve', root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await Promise.race([
    new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port))),
    sleep(10_000).then(() => 0),
  ]);
  if (port === 0) {
    await killByPid(child);
    throw new Error('our server did not start');
  }
  return {
    port,
    stats: () =>
      Promise.race([
        new Promise<ServerStats>((resolve) => {
          child.once('message', (m) => resolve((m as { stats: ServerStats }).stats));
          child.send('stats');
        }),
        sleep(5000).then(() => Promise.reject(new Error('our server did not answer stats'))),
      ]),
    stop: async () => {
      child.send('stop');
      if (!(await waitExit(child, 5000))) await killByPid(child);
    },
  };
}

async function startTftpdHpa(tftpd: string, root: string): Promise<RunningServer> {
  const port = await freeUdpPort();
  // As root, tftpd-hpa drops to the 'tftp' user by default: the root dir and file are world-readable.
  const child = spawn(tftpd, ['--foreground', '--address', `${HOST}:${port}`, '--secure', root], { stdio: 'ignore' });
  if (!(await waitUntilServing(port))) {
    await killByPid(child);
    throw new Error(`${tftpd} did not answer on ${HOST}:${port}`);
  }
  return { port, stop: () => killByPid(child) };
}

async function scenario(port: number, clients: number, blksize: number, fileBytes: number, timeoutMs: number) {
  const url = `tftp://${HOST}:${port}/bench.bin`;
  const seconds = String(Math.ceil(timeoutMs / 1000));
  const started = process.hrtime.bigint();
  const results = await Promise.all(
    Array.from({ length: clients }, () =>
      execFileResult('curl', ['-sS', '--max-time', seconds, '--tftp-blksize', String(blksize), '-o', '/dev/null', '-w', '%{size_download}', url], timeoutMs + 5000),
    ),
  );
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const failedClients = results.filter((r) => r.code !== 0 || Number(r.stdout) !== fileBytes).length;
  const mib = (clients * fileBytes) / (1024 * 1024);
  return { wallMs: Math.round(wallMs), failedClients, mibPerSecond: Math.round((mib / (wallMs / 1000)) * 10) / 10 };
}

function markdown(result: { scenarios: Scenario[]; comparisons: Record<string, unknown>[]; halfOpen: HalfOpenRow | null }): string {
  const lines = ['| server | clients | blksize | wall (ms) | MiB/s | failed |', '|---|---:|---:|---:|---:|---:|'];
  for (const s of result.scenarios) lines.push(`| ${s.server} | ${s.clients} | ${s.blksize} | ${s.wallMs} | ${s.mibPerSecond} | ${s.failedClients} |`);
  lines.push('', '| clients | blksize | wall time ours / tftpd-hpa |', '|---:|---:|---:|');
  for (const c of result.comparisons) lines.push(`| ${c.clients} | ${c.blksize} | ${c.wallRatioOursOverTheirs} |`);
  const h = result.halfOpen;
  if (h !== null) {
    lines.push('', '| half-open windowed sessions asked | held | budget reserved (MiB) | RSS before (MiB) | RSS held (MiB) | all freed after (s) |', '|---:|---:|---:|---:|---:|---:|');
    lines.push(`| ${h.requested} | ${h.held} | ${h.reservedMiB} | ${h.rssBeforeMiB} | ${h.rssHeldMiB} | ${h.drainSeconds ?? 'over the cap'} |`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runTftpBench(opts: TftpBenchOptions = {}): Promise<Record<string, unknown>> {
  const outPath = opts.outPath ?? path.join('var', 'bench', 'tftp.json');
  const fileBytes = opts.fileBytes ?? 32 * 1024 * 1024;
  const clientCounts = opts.clientCounts ?? [1, 50];
  const blockSizes = opts.blockSizes ?? [512, 1468];
  const timeoutMs = opts.scenarioTimeoutMs ?? 300_000;
  const tftpd = opts.tftpdPath ?? '/usr/sbin/in.tftpd';

  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'clonage-tftp-bench-'));
  const scenarios: Scenario[] = [];
  const errors: string[] = [];
  let halfOpen: HalfOpenRow | null = null;
  try {
    await fs.chmod(root, 0o755);
    const file = await fs.open(path.join(root, 'bench.bin'), 'w', 0o644);
    for (let written = 0; written < fileBytes; written += 1 << 20) await file.write(randomBytes(Math.min(1 << 20, fileBytes - written)));
    await file.close();

    const servers: Array<['ours' | 'tftpd-hpa', () => Promise<RunningServer>]> = [
      ['ours', () => startOurs(root)],
      ['tftpd-hpa', () => startTftpdHpa(tftpd, root)],
    ];
    for (const [name, start] of servers) {
      let server: RunningServer;
      try {
        server = await start();
      } catch (err) {
        errors.push(`${name}: ${(err as Error).message}`);
        continue;
      }
      try {
        for (const blksize of blockSizes) {
          for (const clients of clientCounts) {
            const r = await scenario(server.port, clients, blksize, fileBytes, timeoutMs);
            scenarios.push({ server: name, clients, blksize, ...r });
            process.stderr.write(`tftp-bench ${name} clients=${clients} blksize=${blksize}: ${r.wallMs} ms, ${r.mibPerSecond} MiB/s, failed=${r.failedClients}\n`);
          }
        }
      } finally {
        await server.stop();
      }
    }
    // A fresh server, so its RSS before the half-open sessions is its idle size.
    if (opts.halfOpenHosts !== 0) {
      try {
        const server = await startOurs(root);
        try {
          halfOpen = await halfOpenRow(server, 'bench.bin', { hosts: opts.halfOpenHosts });
          process.stderr.write(`tftp-bench half-open: ${JSON.stringify(halfOpen)}\n`);
        } finally {
          await server.stop();
        }
      } catch (err) {
        errors.push(`half-open: ${(err as Error).message}`);
      }
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }

  const comparisons = scenarios
    .filter((s) => s.server === 'ours')
    .flatMap((ours) => {
      const theirs = scenarios.find((s) => s.server === 'tftpd-hpa' && s.clients === ours.clients && s.blksize === ours.blksize);
      if (theirs === undefined) return [];
      return [{ clients: ours.clients, blksize: ours.blksize, wallRatioOursOverTheirs: Math.round((ours.wallMs / theirs.wallMs) * 100) / 100 }];
    });
  const result = {
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version },
    fileBytes,
    client: 'curl (tftp://, -o /dev/null)',
    ourServerMode: __filename.endsWith('.js') ? 'child process' : 'in-process',
    scenarios,
    comparisons,
    halfOpen,
    errors,
  };
  await fs.mkdir(path.dirname(outPath), { recursive: true });
  await fs.writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`);
  await fs.writeFile(outPath.replace(/\.json$/, '') + '.md', markdown(result));
  return result;
}

function statsOf(server: TftpServer): ServerStats {
  return { rssBytes: process.memoryUsage().rss, sessions: server.sessionCount, reservedBytes: server.reservedBytes };
}

/** Child mode: serve `root` until the parent says stop or goes away. */
async function serveChild(root: string): Promise<void> {
  const server = new TftpServer({ source: new DirectorySource(root), port: 0, address: HOST });
  await server.start();
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('message', (m) => {
    if (m === 'stop') stop();
    if (m === 'stats') process.send?.({ stats: statsOf(server) });
  });
  process.on('disconnect', stop);
  process.send?.({ port: server.port });
}

if (require.main === module) {
  const [mode, arg] = process.argv.slice(2);
  const main = mode === '--serve' && arg !== undefined ? serveChild(arg) : runTftpBench({ outPath: mode }).then((r) => console.log(JSON.stringify(r, null, 2)));
  main.catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
