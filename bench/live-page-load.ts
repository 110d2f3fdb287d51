/**
 * Load generator of the live-page bench (bench/live-page-bench.ts), run as its own process so the
 * server's event loop is measured alone: V viewers hold the action's live stream open (reading
 * everything it sends), and agents post progress at a fixed offered rate, round robin over the
 * jobs. Latency counts from each post's scheduled time, so a server that falls behind shows it
 * (no coordinated omission). Input: one JSON argument; output: one JSON line. Loopback only,
 * bounded by `seconds`.
 */
import http from 'node:http';

interface Input {
  readonly base: string;
  readonly actionId: string;
  readonly viewers: number;
  readonly rate: number;
  readonly seconds: number;
  readonly jobs: ReadonlyArray<{ readonly jobId: string; readonly session: string }>;
}

const input = JSON.parse(process.argv[2]) as Input;
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const now = () => Number(process.hrtime.bigint()) / 1e6;

function openViewer(stats: { bytes: number; updates: number }): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${input.base}/modules/clonage/actions/${input.actionId}/events`, { headers: { 'x-test-user': 'admin' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`stream: HTTP ${res.statusCode}`));
      let seen = false;
      res.on('data', (chunk: Buffer) => {
        stats.bytes += chunk.length;
        const text = chunk.toString('latin1');
        if (!seen && text.includes('event: snapshot')) {
          seen = true;
          resolve(req);
        }
        for (let i = text.indexOf('event: update'); i >= 0; i = text.indexOf('event: update', i + 1)) stats.updates++;
      });
      res.on('error', () => undefined);
    });
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    req.setTimeout(30_000, () => reject(new Error('stream: no snapshot in 30 s')));
  });
}

function post(job: Input['jobs'][number], i: number): Promise<number> {
  const body = `stage=receiving&percent=${(i % 100) + 0.5}&bytes=${i * 65536}&rate_kbps=${90000 + (i % 1000)}`;
  return new Promise((resolve) => {
    const req = http.request(`${input.base}/modules/clonage/api/agent/jobs/${job.jobId}/progress`, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'x-clonage-session': job.session },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(30_000, () => req.destroy());
    req.end(body);
  });
}

async function main(): Promise<void> {
  const stats = { bytes: 0, updates: 0 };
  const streams: http.ClientRequest[] = [];
  for (let v = 0; v < input.viewers; v++) streams.push(await openViewer(stats));
  const total = Math.round(input.rate * input.seconds);
  const latencies: number[] = [];
  let failed = 0;
  let lastEnd = 0;
  const t0 = now() + 50;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const at = t0 + (i * 1000) / input.rate;
    const wait = at - now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(input.jobs[i % input.jobs.length], i).then((status) => {
      const end = now();
      lastEnd = Math.max(lastEnd, end);
      if (status === 204) latencies.push(end - at);
      else failed++;
    }));
  }
  await Promise.all(pending);
  for (const s of streams) s.destroy();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN) * 10) / 10;
  process.stdout.write(`${JSON.stringify({
    posts: total, ok: latencies.length, failed, postsPerSecond: Math.round(latencies.length / ((lastEnd - t0) / 1000)),
    p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99), viewerUpdates: stats.updates, viewerMiB: Math.round(stats.bytes / 1048576),
  })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
