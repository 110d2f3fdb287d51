/**
 * Client side of the HTTP boot bench (bench/http-boot-bench.ts), its own process so that neither
 * server pays for it: `files` mode downloads one URL `concurrency` times at once, reading and
 * dropping every byte (wall time of the whole batch and of each download); `script` mode asks one
 * URL `count` times one after the other (latency of each). Input: one JSON argument; output: one
 * JSON line. Loopback only; every request has a timeout.
 */
import http from 'node:http';

type Input =
  | { readonly mode: 'files'; readonly url: string; readonly concurrency: number; readonly bytes: number }
  | { readonly mode: 'script'; readonly url: string; readonly count: number };

const input = JSON.parse(process.argv[2]) as Input;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const now = () => Number(process.hrtime.bigint()) / 1e6;

function get(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t0 = now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: now() - t0, bytes, status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(120_000, () => req.destroy(new Error('timeout')));
  });
}

async function main(): Promise<void> {
  if (input.mode === 'files') {
    const t0 = now();
    const all = await Promise.all(Array.from({ length: input.concurrency }, () => get(input.url)));
    const wallMs = now() - t0;
    const bad = all.filter((r) => r.status !== 200 || r.bytes !== input.bytes).length;
    if (bad) throw new Error(`${bad} downloads incomplete or refused`);
    process.stdout.write(`${JSON.stringify({ wallMs, each: all.map((r) => r.ms) })}\n`);
  } else {
    const each: number[] = [];
    for (let i = 0; i < input.count; i++) {
      const r = await get(input.url);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      each.push(r.ms);
    }
    process.stdout.write(`${JSON.stringify({ each })}\n`);
  }
  agent.destroy();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
