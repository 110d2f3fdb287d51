/**
 * Benchmark (not a test), issue 15 item 2: the live action page at scale. One clone action of
 * 500 PCs on the real module (register + the fake host's HTTP app, real SQLite file), every agent
 * with its session. A load process (bench/live-page-load.ts) posts progress at a fixed offered
 * rate while 0 (baseline) or 100 (ours) viewers hold the action's live stream open. Reported per
 * run: progress posts/s achieved, post latency p50/p95, and the server's event-loop delay p99
 * (perf_hooks, measured in this process, where only the server runs). Goals: ≥ 1,000 posts/s,
 * p95 < 50 ms, event-loop p99 < 50 ms with 100 viewers. Loopback only, every run bounded.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Mac } from '../src/common/domain/mac';
import { createFakeHost, FakeClock, type FakeMachine } from '../test/helpers/fake-host';
import { startTestModule } from '../test/helpers/test-module';
import { interleaved, round } from './bench-stats';

class RealClock extends FakeClock {
  override now(): Date {
    return new Date();
  }
}

export interface LivePageBenchOptions {
  readonly pcs?: number;
  readonly viewers?: number;
  /** Offered progress posts per second. */
  readonly rate?: number;
  readonly seconds?: number;
  readonly pairs?: number;
}

interface LoadResult {
  readonly viewers: number;
  readonly postsPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly failed: number;
  readonly eventLoopP99Ms: number;
  readonly viewerUpdates: number;
  readonly viewerMiB: number;
  readonly serverCpuMsPerPost: number;
}

const macOf = (i: number) => `02:00:00:15:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

export async function runLivePageBench(opts: LivePageBenchOptions = {}): Promise<Record<string, unknown>> {
  const pcs = opts.pcs ?? 500;
  const viewers = opts.viewers ?? 100;
  const rate = opts.rate ?? 1100;
  const seconds = opts.seconds ?? 8;
  const machines: FakeMachine[] = Array.from({ length: pcs }, (_, i) => ({ name: `pc${String(i).padStart(4, '0')}`, mac: macOf(i), ip: `10.15.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
  const host = createFakeHost({ lab: { bench: machines }, clock: new RealClock() });
  host.db.pragma('synchronous = NORMAL'); // as the shell opens it (src/shell/open-database.ts)
  host.settings.set('agent.addressCheck', 'fetcher'); // the load comes from loopback, not the reserved addresses
  const m = await startTestModule({ heartbeatMs: 15_000 }, host);
  const { module, base } = m;
  try {
    const fields: [string, string][] = [['type', 'clone'], ['parc', 'bench'], ['emitter', machines[0].name],
      ...machines.slice(1).map((m): [string, string] => ['machine', m.name]), ['disk', 'sda'], ['confirm', '1']];
    const res = await fetch(`${base}/modules/clonage/actions`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-user': 'admin' }, signal: AbortSignal.timeout(60_000),
    });
    const actionId = /\/actions\/([^/?#]+)$/.exec(res.headers.get('location') ?? '')?.[1];
    if (res.status !== 303 || !actionId) throw new Error(`creating the ${pcs}-PC action: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    await module.parts.scheduler.tick();
    const jobs: { jobId: string; session: string }[] = [];
    for (const m of machines) {
      const plan = module.parts.bootPlans.get(Mac.parse(m.mac));
      if (plan?.kind !== 'job') throw new Error(`${m.name}: no job armed`);
      const r = await fetch(`${base}/modules/clonage/api/agent/jobs/${plan.jobId}`, { headers: { authorization: `Bearer ${plan.token}` } });
      const session = r.headers.get('x-clonage-session');
      if (r.status !== 200 || !session) throw new Error(`${m.name}: job fetch HTTP ${r.status}`);
      await r.text();
      jobs.push({ jobId: plan.jobId, session });
    }
    const load = async (v: number): Promise<LoadResult> => {
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const cpu0 = process.cpuUsage();
      const out = await new Promise<string>((resolve, reject) => {
        const child = execFile(process.execPath, [path.join(__dirname, 'live-page-load.js'), JSON.stringify({ base, actionId, viewers: v, rate, seconds, jobs })],
          { timeout: (seconds + 90) * 1000, maxBuffer: 1 << 20 }, (e, stdout, stderr) => (e ? reject(new Error(`load process: ${e.message} ${stderr}`)) : resolve(stdout)));
        child.stdin?.end();
      });
      delay.disable();
      const cpu = process.cpuUsage(cpu0);
      const r = JSON.parse(out) as Omit<LoadResult, 'viewers' | 'eventLoopP99Ms' | 'serverCpuMsPerPost'> & { ok: number };
      // CPU time of the server per post: the figure that does not depend on what else the machine runs
      return { viewers: v, ...r, eventLoopP99Ms: round(delay.percentile(99) / 1e6), serverCpuMsPerPost: round((cpu.user + cpu.system) / 1000 / Math.max(1, r.ok), 3) };
    };
    const row = await interleaved(opts.pairs ?? 2, () => load(0), () => load(viewers), (r) => r.postsPerSecond);
    const worst = (k: 'p95Ms' | 'eventLoopP99Ms') => Math.max(...row.ours.map((r) => r[k]));
    const slowest = Math.min(...row.ours.map((r) => r.postsPerSecond));
    return {
      pcs, viewers, offeredPerSecond: rate, secondsPerRun: seconds, ...row,
      ratioMeaning: 'posts/s with viewers / posts/s without (median of interleaved pairs)',
      goals: {
        postsPerSecond: { goal: '>= 1000', worst: slowest, met: slowest >= 1000 },
        postP95Ms: { goal: '< 50', worst: worst('p95Ms'), met: worst('p95Ms') < 50 },
        eventLoopP99Ms: { goal: '< 50', worst: worst('eventLoopP99Ms'), met: worst('eventLoopP99Ms') < 50 },
      },
    };
  } finally {
    await m.stop();
  }
}

if (require.main === module) {
  runLivePageBench().then((r) => console.log(JSON.stringify(r, null, 2)), (e) => { console.error(e); process.exit(1); });
}
