/**
 * Benchmark (not a test): what clonage costs on top of udpcast. One disk image of random bytes
 * (a file, 64 MiB by default) is sent from one PC to 1 and 4 PCs, each PC a network namespace
 * on a bridge (test/helpers/netns.ts: 10.77.x.0/24 inside the namespaces only, mcast_snooping 0):
 *
 *  - raw: udp-sender --file image → udp-receiver --file disk, with the flags the agent uses;
 *    wall time from spawning the processes to every receiver done;
 *  - clonage: a clone action created through the real module (wizard POST, tick(), agent API,
 *    as test/integration/agent-real-api.test.ts does), the real POSIX-sh agent (pxe/agent) run in
 *    the same namespaces with CLONAGE_DEV_DIR pointing at the image files. "transfer" is the wall
 *    time from the first agent job fetch to the action `succeeded`; "whole" adds what the server
 *    does before (the POST creating the action, the scheduler tick arming the boot plans, the
 *    agents' start). The scheduler's timer period (tickMs, 15 s by default: an action starts at
 *    the next tick) is not included: tick() is called right after the POST.
 *
 * Compression none for the comparison, zstd as an extra row (raw uses the agent's --pipe
 * commands). Every receiver's file is compared with the image (SHA-256) after every run: a run
 * that does not verify is reported as an error, never as a figure. Every wait is bounded
 * (scenarioTimeoutMs), every process is started in its own group and killed by its PID, the
 * namespaces are deleted in `finally`. Needs root, `ip netns`, udpcast and busybox.
 *
 * Standalone: npx tsc -p tsconfig.json && node dist/bench/clone-bench.js [--repeats N] [--mib N]
 *   [--receivers 1,4] [--no-zstd] [--progress-seconds S] [--timeout-seconds S]; exit 1 unless every run verified.
 * Takes about 3.5 to 4 minutes with the defaults (3 runs × 2 kinds × 4 scenarios) on a 2-CPU machine.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { BootPlanStore } from '../src/boot/boot-plan-store';
import { Mac } from '../src/common/domain/mac';
import { register, type RunningModule } from '../src/index';
import { RecordingWaker } from '../test/helpers/actions-fixtures';
import { NOTHING_BLOCKS } from '../test/helpers/fakes';
import { createFakeHost, FakeClock, fakeHostApp, type FakeHost, type FakeMachine } from '../test/helpers/fake-host';
import {
  createTestNet, destroyTestNet, netnsUnavailableReason, pidsInNs, relayTcpToUnix, spawnInNs, waitForExit, type RunResult, type TestNet,
} from '../test/helpers/netns';

// compiled to dist/bench/: the repository root is two levels up
const ROOT = path.resolve(__dirname, '..', '..');
const AGENT = path.join(ROOT, 'pxe/agent/clonage-agent.sh');
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p)) ?? 'busybox';
const UDP_SENDER = ['/usr/bin/udp-sender', '/usr/sbin/udp-sender'].find((p) => fs.existsSync(p));
const UDP_RECEIVER = ['/usr/bin/udp-receiver', '/usr/sbin/udp-receiver'].find((p) => fs.existsSync(p));
const RAW_PORT = 9500;
const DISK = 'sda';

export interface CloneBenchOptions {
  /** Receiver counts, one scenario each (default 1 and 4). */
  readonly receivers?: readonly number[];
  /** Image size (default 64 MiB). */
  readonly imageMiB?: number;
  /** Runs per scenario and kind, interleaved raw/clonage; medians are reported (default 3). */
  readonly repeats?: number;
  /** Adds zstd rows (raw with the agent's --pipe commands, clonage with compression=zstd). */
  readonly zstd?: boolean;
  /** Upper bound of one run (all its processes), default 180 s. */
  readonly scenarioTimeoutMs?: number;
  /** The agent's CLONAGE_PROGRESS_SECONDS; default: unset (the agent's own default, 2 s). */
  readonly progressSeconds?: number;
  /** Where the image files go; default /dev/shm (tmpfs) when present, else the temp dir. */
  readonly filesDir?: string;
}

type Compression = 'none' | 'zstd';

interface RawRun { readonly ms: number; readonly rexmitPct: number | null }
interface ClonageRun { readonly transferMs: number; readonly wholeMs: number; readonly agentsExitedMs: number; readonly rexmitPct: number | null }

class BenchError extends Error {}

/** Standalone runs: what a SIGINT/SIGTERM must undo (the `finally` blocks do not run on a signal). */
let emergencyCleanup: (() => void) | null = null;

/** Rejects after `ms` (the promise itself is left to settle or be torn down by the caller). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchError(`${what}: no answer after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** udp-sender's last "re-xmits=N ( x%)": retransmitted share of the data blocks. */
function rexmitPct(senderOutput: string): number | null {
  const all = [...senderOutput.matchAll(/re-xmits=\d+ \(\s*([\d.]+)%\)/g)];
  return all.length ? Number(all[all.length - 1][1]) : null;
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const now = () => performance.now();
const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The module's clock must be real here: started/finished timestamps and timeouts use it. */
class RealClock extends FakeClock {
  override now(): Date {
    return new Date();
  }
}

/** Kills a child's process group by its PID (spawnInNs makes every child a group leader). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL'); // even after the leader exited: zstd, wget may be left
  } catch {
    /* already gone */
  }
}

/** After a run, whatever is still inside the PCs' namespaces is ours: killed by PID. */
function killLeftovers(net: TestNet): void {
  for (const h of net.hosts) {
    for (const pid of pidsInNs(h.ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

function tail(text: string, n = 600): string {
  const t = text.replace(/\r/g, '\n').split('\n').filter((l) => l.trim() && !/^bytes=/.test(l.trim())).join('\n');
  return t.slice(-n);
}

function describeExit(who: string, r: RunResult): string {
  return `${who}: ${r.signal ? `killed by ${r.signal} (timeout?)` : `exit ${r.code}`}: ${tail(r.stderr + r.stdout)}`;
}

/** Bounded wait for a set of children; each one's group is killed at the deadline. */
async function settleAll(children: Array<{ who: string; done: Promise<RunResult> }>): Promise<RunResult[]> {
  return Promise.all(children.map((c) => c.done));
}

interface Lab {
  readonly net: TestNet;
  readonly tmp: string;
  readonly files: string;
  readonly bin: string;
  readonly names: string[]; // pc01 = sender, pc02… = receivers; names[i] runs in net.hosts[i]
  readonly image: string;
  readonly imageSha: string;
  readonly imageBytes: number;
  readonly zero: Buffer;
}

function diskOf(lab: Lab, i: number): string {
  return path.join(lab.files, lab.names[i], DISK);
}

/** Receivers' disks back to zeros, then everything flushed so no run pays for the previous one's writes. */
function resetDisks(lab: Lab, receivers: number): void {
  for (let i = 1; i <= receivers; i++) fs.writeFileSync(diskOf(lab, i), lab.zero);
  execFileSync('sync', { timeout: 60_000 });
}

function verify(lab: Lab, receivers: number): void {
  const bad: string[] = [];
  for (let i = 1; i <= receivers; i++) {
    const file = diskOf(lab, i);
    const size = fs.statSync(file).size;
    if (size !== lab.imageBytes || sha256(file) !== lab.imageSha) bad.push(`${lab.names[i]} (${size} bytes)`);
  }
  if (bad.length) throw new BenchError(`receiver disk differs from the image: ${bad.join(', ')}`);
}

const compressArgs = (c: Compression, role: 'sender' | 'receiver') => (c === 'zstd' ? ['--pipe', role === 'sender' ? 'zstd -1 -c' : 'zstd -d -c'] : []);

/** (a) udpcast alone, with the flags run_sender / run_receiver of pxe/agent/agent-run.sh give it. */
async function rawRun(lab: Lab, receivers: number, compression: Compression, timeoutMs: number): Promise<RawRun> {
  resetDisks(lab, receivers);
  const { net } = lab;
  const port = String(RAW_PORT);
  const common = ['--portbase', port, '--interface', 'eth0', '--nokbd'];
  const children: Array<{ who: string; child: ChildProcess; done: Promise<RunResult>; end?: number }> = [];
  const t0 = now();
  try {
    for (let i = 1; i <= receivers; i++) {
      const child = spawnInNs(net, net.hosts[i].ns, UDP_RECEIVER!, ['--file', diskOf(lab, i), ...common, '--start-timeout', '120', ...compressArgs(compression, 'receiver')],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      const entry: { who: string; child: ChildProcess; done: Promise<RunResult>; end?: number } = { who: lab.names[i], child, done: waitForExit(child, timeoutMs) };
      void entry.done.then(() => (entry.end = now()));
      children.push(entry);
    }
    const sender = spawnInNs(net, net.hosts[0].ns, UDP_SENDER!, ['--file', lab.image, ...common, '--min-receivers', String(receivers), '--min-wait', '0', '--max-wait', '60',
      ...compressArgs(compression, 'sender')], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    children.push({ who: `${lab.names[0]} (sender)`, child: sender, done: waitForExit(sender, timeoutMs) });
    const results = await settleAll(children);
    const failed = results.map((r, i) => (r.code === 0 ? null : describeExit(children[i].who, r))).filter((x): x is string => x !== null);
    if (failed.length) throw new BenchError(`raw udpcast failed: ${failed.join(' | ')}`);
    const end = Math.max(...children.slice(0, receivers).map((c) => c.end ?? now()));
    verify(lab, receivers);
    return { ms: end - t0, rexmitPct: rexmitPct(results[receivers].stderr + results[receivers].stdout) };
  } finally {
    for (const c of children) killGroup(c.child);
    killLeftovers(net);
  }
}

interface Module {
  readonly host: FakeHost;
  readonly module: RunningModule;
  readonly bootPlans: BootPlanStore;
  readonly web: http.Server;
  readonly base: string;
  readonly sockServer: http.Server;
  readonly serverUrl: string;
  /** Set by the socket server on the first agent job fetch of the current run. */
  probe: { firstFetch: number | null };
}

async function startModule(lab: Lab): Promise<Module> {
  const machines: FakeMachine[] = lab.names.map((name, i) => ({ name, mac: macOf(i), ip: lab.net.hosts[i].ip }));
  const host = createFakeHost({ lab: { bench: machines }, clock: new RealClock() });
  let module: RunningModule | undefined;
  const servers: http.Server[] = [];
  try {
    // The real module through its composition root; the bench starts the agents itself (no wake).
    module = await register(host, { waker: new RecordingWaker(), blocker: NOTHING_BLOCKS, tickMs: 0, heartbeatMs: 1000 });
    const { bootPlans } = module.parts;
    const app = fakeHostApp(host);
    const web = await new Promise<http.Server>((resolve) => {
      const s = http.createServer(app).listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(web);
    const base = `http://127.0.0.1:${(web.address() as { port: number }).port}`;
    const probe: Module['probe'] = { firstFetch: null };
    const sock = path.join(lab.tmp, 'module.sock');
    // The agents' requests: namespace → relay (bridge namespace) → this Unix socket.
    const sockServer = await new Promise<http.Server>((resolve) => {
      const s = http.createServer((req, res) => {
        if (probe.firstFetch === null && req.method === 'GET' && /\/api\/agent\/jobs\/[^/]+$/.test(req.url ?? '')) probe.firstFetch = now();
        app(req, res);
      }).listen(sock, () => resolve(s));
    });
    servers.push(sockServer);
    await withTimeout(relayTcpToUnix(lab.net, lab.net.bridgeNs, lab.net.bridgeIp, 8080, sock), 30_000, 'relay to the module socket');
    return { host, module, bootPlans, web, base, sockServer, serverUrl: `http://${lab.net.bridgeIp}:8080/modules/clonage`, probe };
  } catch (e) {
    await stopModule({ host, module, servers });
    throw e;
  }
}

async function stopModule(m: { host: FakeHost; module?: RunningModule; servers: http.Server[] }): Promise<void> {
  await m.module?.stop().catch(() => undefined);
  for (const s of m.servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  m.host.cleanup();
}

const macOf = (i: number) => `02:00:00:77:00:${(i + 1).toString(16).padStart(2, '0')}`;

function actionState(m: Module, id: string): string {
  return (m.host.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(id) as { state: string } | undefined)?.state ?? 'missing';
}

/** Resolves with the time the action reached a terminal state (bus updates, plus a poll as a fallback). */
function waitForAction(m: Module, id: string, timeoutMs: number): { promise: Promise<{ state: string; at: number }>; cancel: () => void } {
  let cancel = () => undefined as void;
  const promise = new Promise<{ state: string; at: number }>((resolve) => {
    const check = () => {
      const state = actionState(m, id);
      if (['succeeded', 'failed', 'cancelled'].includes(state)) finish({ state, at: now() });
    };
    const unsubscribe = m.module.parts.actions.subscribe(id, check);
    const poll = setInterval(check, 250);
    const timer = setTimeout(() => finish({ state: `timeout (${actionState(m, id)})`, at: now() }), timeoutMs);
    let done = false;
    function finish(r: { state: string; at: number }) {
      if (done) return;
      done = true;
      unsubscribe();
      clearInterval(poll);
      clearTimeout(timer);
      resolve(r);
    }
    cancel = () => finish({ state: 'cancelled by the bench', at: now() });
    check();
  });
  return { promise, cancel };
}

/** (b) the same transfer as a clone action of the real module, run by the real agents. */
async function clonageRun(lab: Lab, m: Module, receivers: number, compression: Compression, timeoutMs: number, progressSeconds: number | undefined, run: string): Promise<ClonageRun> {
  resetDisks(lab, receivers);
  const { net } = lab;
  const deadline = now() + timeoutMs;
  const left = () => Math.max(1000, deadline - now());
  const names = lab.names.slice(0, receivers + 1);
  const children: Array<{ who: string; child: ChildProcess; done: Promise<RunResult> }> = [];
  let waiter: ReturnType<typeof waitForAction> | null = null;
  m.probe.firstFetch = null;
  const t0 = now();
  try {
    const fields: [string, string][] = [['type', 'clone'], ['parc', 'bench'], ['emitter', names[0]], ...names.slice(1).map((n): [string, string] => ['machine', n]),
      ['disk', DISK], ['compression', compression], ['min_wait', '0'], ['max_wait', '1'], ['start_timeout', '2'], ['auto_reboot', 'success'], ['confirm', '1']];
    const res = await fetch(`${m.base}/modules/clonage/actions`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-user': 'admin' },
      signal: AbortSignal.timeout(30_000),
    });
    const location = res.headers.get('location') ?? '';
    const id = /\/actions\/([^/?#]+)$/.exec(location)?.[1];
    if (res.status !== 303 || !id) throw new BenchError(`creating the clone action: HTTP ${res.status} ${location} ${(await res.text()).slice(0, 300)}`);
    waiter = waitForAction(m, id, timeoutMs);
    await withTimeout(m.module.parts.scheduler.tick(), 30_000, 'scheduler tick');
    const runs = names.map((name, i) => {
      const plan = m.bootPlans.get(Mac.parse(macOf(i)));
      if (plan?.kind !== 'job') throw new BenchError(`${name}: no job armed after tick() (action ${actionState(m, id)})`);
      const work = path.join(lab.tmp, run, name);
      fs.mkdirSync(work, { recursive: true });
      fs.writeFileSync(path.join(work, 'cmdline'),
        `BOOT_IMAGE=vmlinuz clonage.server=${m.serverUrl} clonage.job=${plan.jobId} clonage.token=${plan.token} console=ttyS0,115200 console=tty0\n`);
      const env: NodeJS.ProcessEnv = {
        PATH: `${lab.bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
        CLONAGE_CMDLINE: path.join(work, 'cmdline'), CLONAGE_DEV_DIR: path.dirname(diskOf(lab, i)), CLONAGE_WORK_DIR: path.join(work, 'agent'),
        CLONAGE_REBOOT_CMD: 'true', CLONAGE_POWEROFF_CMD: 'true', CLONAGE_IFACE: 'eth0',
      };
      if (progressSeconds !== undefined) env.CLONAGE_PROGRESS_SECONDS = String(progressSeconds);
      return { name, ns: net.hosts[i].ns, env, work };
    });
    // Receivers first, as PCs that boot faster than the emitter would (same order as the raw run).
    for (const r of [...runs.slice(1), runs[0]]) {
      const child = spawnInNs(net, r.ns, BUSYBOX, ['sh', AGENT], { stdio: ['ignore', 'pipe', 'pipe'], env: r.env });
      children.push({ who: r.name, child, done: waitForExit(child, left()) });
    }
    const outcome = await waiter.promise;
    const results = await settleAll(children);
    const agentsExited = now();
    const failed = results.map((r, i) => (r.code === 0 ? null : describeExit(children[i].who, r))).filter((x): x is string => x !== null);
    if (failed.length || outcome.state !== 'succeeded') {
      const targets = m.host.db.prepare('SELECT name, role, state, exit_code AS exitCode FROM clonage_targets WHERE action_id = ? ORDER BY name').all(id);
      throw new BenchError(`clone action ${outcome.state}: ${JSON.stringify(targets)}${failed.length ? ` | ${failed.join(' | ')}` : ''}`);
    }
    if (m.probe.firstFetch === null) throw new BenchError('no agent job fetch was seen');
    verify(lab, receivers);
    let senderLog = '';
    try {
      senderLog = fs.readFileSync(path.join(runs[0].work, 'agent', 'udpcast.log'), 'latin1');
    } catch {
      /* figure left out */
    }
    return { transferMs: outcome.at - m.probe.firstFetch, wholeMs: outcome.at - t0, agentsExitedMs: agentsExited - m.probe.firstFetch, rexmitPct: rexmitPct(senderLog) };
  } finally {
    waiter?.cancel();
    for (const c of children) killGroup(c.child);
    killLeftovers(net);
  }
}

function prepareLab(net: TestNet, tmp: string, filesRoot: string, receivers: number, imageBytes: number): Lab {
  const files = fs.mkdtempSync(path.join(filesRoot, 'clonage-clone-bench-files-'));
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  execFileSync(BUSYBOX, ['--install', '-s', bin], { timeout: 30_000 });
  const names = Array.from({ length: receivers + 1 }, (_, i) => `pc${String(i + 1).padStart(2, '0')}`);
  for (const n of names) fs.mkdirSync(path.join(files, n));
  const image = path.join(files, names[0], DISK);
  const data = randomBytes(imageBytes);
  fs.writeFileSync(image, data);
  return { net, tmp, files, bin, names, image, imageSha: createHash('sha256').update(data).digest('hex'), imageBytes, zero: Buffer.alloc(imageBytes) };
}

export async function runCloneBench(opts: CloneBenchOptions = {}): Promise<Record<string, unknown>> {
  const counts = [...(opts.receivers ?? [1, 4])];
  const imageMiB = opts.imageMiB ?? 64;
  const repeats = Math.max(1, opts.repeats ?? 3);
  const timeoutMs = opts.scenarioTimeoutMs ?? 180_000;
  const compressions: Compression[] = opts.zstd === false ? ['none'] : ['none', 'zstd'];
  const why = netnsUnavailableReason();
  if (why) throw new Error(`clone bench needs root and ip netns: ${why}`);
  if (!UDP_SENDER || !UDP_RECEIVER) throw new Error('clone bench needs udpcast (udp-sender, udp-receiver)');
  if (!fs.existsSync(BUSYBOX)) throw new Error('clone bench needs busybox');
  if (compressions.includes('zstd')) {
    try {
      execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    } catch {
      compressions.splice(compressions.indexOf('zstd'), 1);
    }
  }
  const filesRoot = opts.filesDir ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const maxReceivers = Math.max(...counts);
  const imageBytes = imageMiB * 1024 * 1024;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-clone-bench-'));
  let net: TestNet | undefined;
  let lab: Lab | undefined;
  let module: Module | undefined;
  const started = now();
  const loadStart = os.loadavg().map((x) => round(x, 1));
  emergencyCleanup = () => {
    destroyTestNet(net);
    try {
      module?.host.cleanup();
    } catch {
      /* already closed */
    }
    if (lab) fs.rmSync(lab.files, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    net = createTestNet(maxReceivers + 1);
    lab = prepareLab(net, tmp, filesRoot, maxReceivers, imageBytes);
    module = await startModule(lab);
    const rows: Record<string, unknown>[] = [];
    const errors: string[] = [];
    for (const compression of compressions) {
      for (const n of counts) {
        const raw: RawRun[] = [];
        const cl: ClonageRun[] = [];
        let error: string | null = null;
        for (let r = 0; r < repeats && !error; r++) {
          try {
            raw.push(await rawRun(lab, n, compression, timeoutMs));
            cl.push(await clonageRun(lab, module, n, compression, timeoutMs, opts.progressSeconds, `run-${compression}-${n}-${r}`));
          } catch (e) {
            error = `${n} receiver(s), ${compression}, run ${r + 1}: ${(e as Error).message}`;
            if (!(e instanceof BenchError)) error += ` ${(e as Error).stack ?? ''}`;
          }
        }
        if (error) {
          errors.push(error);
          rows.push({ receivers: n, compression, error });
          continue;
        }
        const rawMs = median(raw.map((x) => x.ms));
        const transferMs = median(cl.map((x) => x.transferMs));
        const wholeMs = median(cl.map((x) => x.wholeMs));
        rows.push({
          receivers: n,
          compression,
          rawMs: round(rawMs),
          clonageTransferMs: round(transferMs),
          clonageWholeMs: round(wholeMs),
          ratioTransfer: round(transferMs / rawMs, 2),
          ratioWhole: round(wholeMs / rawMs, 2),
          rawMiBps: round(imageMiB / (rawMs / 1000), 1),
          clonageMiBps: round(imageMiB / (transferMs / 1000), 1),
          runs: {
            rawMs: raw.map((x) => round(x.ms)),
            clonageTransferMs: cl.map((x) => round(x.transferMs)),
            clonageWholeMs: cl.map((x) => round(x.wholeMs)),
            clonageAgentsExitedMs: cl.map((x) => round(x.agentsExitedMs)),
            rawSenderRexmitPct: raw.map((x) => x.rexmitPct),
            clonageSenderRexmitPct: cl.map((x) => x.rexmitPct),
          },
          verified: `sha256 of ${n} receiver disk(s) equal to the image after each of ${repeats * 2} runs`,
        });
      }
    }
    return {
      ok: errors.length === 0,
      imageMiB,
      repeats,
      figures: 'medians; ratio = clonage / raw for the same receiver count and compression',
      filesOn: filesRoot,
      // Other work on the machine shows here first: udpcast on veth loses (and re-sends) more under load.
      loadAverage: { start: loadStart, end: os.loadavg().map((x) => round(x, 1)) },
      agentProgressSeconds: opts.progressSeconds ?? 'agent default (2)',
      rows,
      ...(errors.length ? { errors } : {}),
      notes: [
        'raw: udp-sender --file image --min-receivers N --min-wait 0 --max-wait 60 and N udp-receiver --file disk --start-timeout 120 (receivers spawned first), from spawn to the last receiver exit',
        'clonageTransfer: first agent GET of its job → action succeeded (every agent posted its result); clonageWhole: wizard POST → succeeded, including tick() arming the plans and the agents starting, not the scheduler timer period',
        'the agent polls udpcast every CLONAGE_PROGRESS_SECONDS (pxe/agent/agent-run.sh): up to that long passes between udpcast exiting and the agent reporting its result, then it runs sync',
      ],
      benchWallSeconds: round((now() - started) / 1000),
    };
  } finally {
    emergencyCleanup = null;
    if (module) await stopModule({ host: module.host, module: module.module, servers: [module.web, module.sockServer] });
    destroyTestNet(net);
    if (lab) fs.rmSync(lab.files, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function parseArgs(argv: string[]): CloneBenchOptions {
  const o: { -readonly [K in keyof CloneBenchOptions]: CloneBenchOptions[K] } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: value missing`);
      return v;
    };
    if (a === '--repeats') o.repeats = Number(next());
    else if (a === '--mib') o.imageMiB = Number(next());
    else if (a === '--receivers') o.receivers = next().split(',').map(Number);
    else if (a === '--no-zstd') o.zstd = false;
    else if (a === '--progress-seconds') o.progressSeconds = Number(next());
    else if (a === '--timeout-seconds') o.scenarioTimeoutMs = Number(next()) * 1000;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const [k, v] of Object.entries(o)) {
    const bad = (x: number) => !Number.isFinite(x) || x <= 0;
    if (k === 'receivers' ? (v as number[]).some(bad) : typeof v === 'number' && bad(v)) throw new Error(`${k}: expected positive numbers`);
  }
  return o;
}

if (require.main === module) {
  let opts: CloneBenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      emergencyCleanup?.();
      process.exit(130);
    });
  }
  runCloneBench(opts).then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      if (r.ok !== true) process.exitCode = 1;
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
