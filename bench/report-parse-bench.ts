/**
 * parseReport on hostile 64 KiB reports (the agent's report body is attacker-reachable with a job
 * token): the time per body must grow linearly with its size. Measured here, not in a timed test
 * (test/unit/fuzz-agent-reports.test.ts checks only what it returns). Reports ms per body at 16,
 * 32 and 64 KiB; a regex gone quadratic shows as a ratio near 4 between 32 and 64 KiB instead of 2.
 */
import { parseReport } from '../src/images/report-parse';

export const HOSTILE_REPORTS: ReadonlyArray<{ name: string; body: (bytes: number) => string }> = [
  { name: 'sfdisk-dashes', body: (k) => '### sfdisk -d sda\n/dev/sda1 : ' + 'a-'.repeat(k / 2) },
  { name: 'sfdisk-size', body: (k) => '### sfdisk -d sda\n' + 'x'.repeat(100) + ' : ' + 'size='.repeat(Math.floor(k / 5)) },
  { name: 'blkid-quotes', body: (k) => '### blkid\n/dev/sda1: ' + 'A="'.repeat(Math.floor(k / 3)) },
  { name: 'df-spaces', body: (k) => '### df\n' + ' '.repeat(k) },
  { name: 'hashes', body: (k) => '#'.repeat(k) },
  { name: 'newlines', body: (k) => '\n'.repeat(k) },
];

function msPerParse(body: string, rounds: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) parseReport(body);
  return Number(process.hrtime.bigint() - t0) / 1e6 / rounds;
}

export async function runReportParseBench(rounds = 20): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const r of HOSTILE_REPORTS) {
    const sizes = [16, 32, 64].map((kib) => ({ kib, ms: Number(msPerParse(r.body(kib * 1024), rounds).toFixed(3)) }));
    out[r.name] = { msPerBody: sizes, ratio64over32: Number((sizes[2].ms / Math.max(sizes[1].ms, 0.001)).toFixed(2)) };
  }
  return out;
}
