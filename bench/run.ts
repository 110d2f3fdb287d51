/**
 * `npm run bench`: every benchmark in one run, results in var/bench/results.json and a Markdown
 * report (docs/benchmarks.md is a committed copy of one run). Figures are ratios measured in the
 * same run on the same machine. Select with BENCH=tftp,http,http-boot,pages,reports,dhcp-seed,live-page,clone,clone-partitions (default: all).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTftpBench } from './tftp-bench';
import { runHttpVsTftpBench } from './http-vs-tftp-bench';
import { runPagesBench } from './pages-bench';
import { runReportParseBench } from './report-parse-bench';
import { runDhcpSeedBench } from './dhcp-seed-bench';
import { runLivePageBench } from './live-page-bench';
import { runHttpBootBench } from './http-boot-bench';
import { runClonePartitionsBench } from './clone-partitions-bench';

const ROOT = path.resolve(__dirname, '..', '..');

type Bench = { name: string; run: () => Promise<Record<string, unknown>> };

async function main(): Promise<void> {
  const outDir = path.join(ROOT, 'var', 'bench');
  fs.mkdirSync(outDir, { recursive: true });
  const initrd = ['var/bootenv/initrd.img', 'var/modules/clonage/toolkits/clonage/initrd.img'].map((f) => path.join(ROOT, f)).find((f) => fs.existsSync(f));
  const benches: Bench[] = [
    { name: 'tftp', run: () => runTftpBench({ outPath: path.join(outDir, 'tftp.json') }) },
    { name: 'http', run: () => runHttpVsTftpBench({ file: initrd }) },
    { name: 'pages', run: () => runPagesBench({ machines: 1000, requests: 30 }) },
    { name: 'reports', run: () => runReportParseBench() },
    { name: 'dhcp-seed', run: () => runDhcpSeedBench() },
    { name: 'live-page', run: () => runLivePageBench() },
    { name: 'http-boot', run: () => runHttpBootBench() },
    { name: 'clone-partitions', run: () => runClonePartitionsBench() },
  ];
  if (fs.existsSync(path.join(__dirname, 'clone-bench.js'))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runCloneBench } = require('./clone-bench') as { runCloneBench: () => Promise<Record<string, unknown>> };
    benches.push({ name: 'clone', run: runCloneBench });
  }
  const wanted = process.env.BENCH ? new Set(process.env.BENCH.split(',')) : null;
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
  };
  for (const b of benches) {
    if (wanted && !wanted.has(b.name)) continue;
    process.stderr.write(`bench: ${b.name}…\n`);
    const t0 = Date.now();
    try {
      results[b.name] = { ...(await b.run()), benchSeconds: Math.round((Date.now() - t0) / 1000) };
    } catch (e) {
      results[b.name] = { error: String((e as Error).message ?? e) };
    }
  }
  const json = path.join(outDir, 'results.json');
  fs.writeFileSync(json, JSON.stringify(results, null, 2));
  fs.writeFileSync(path.join(outDir, 'results.md'), toMarkdown(results));
  process.stdout.write(`${toMarkdown(results)}\nresults written to ${json}\n`);
}

function toMarkdown(r: Record<string, unknown>): string {
  const lines = ['# Benchmark results', '', `Run ${String(r.date)} on ${JSON.stringify(r.machine)} with \`npm run bench\`.`, ''];
  for (const [k, v] of Object.entries(r)) {
    if (k === 'date' || k === 'machine') continue;
    lines.push(`## ${k}`, '', '```json', JSON.stringify(v, null, 2), '```', '');
  }
  return lines.join('\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
