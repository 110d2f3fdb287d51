/**
 * Benchmark (not a test), issue 15 item 3: HTTP boot serving against nginx on the same files.
 *
 *  - files: 50 concurrent downloads of an 8 MiB initrd from the module's /boot/files route (the
 *    real module through register + the fake host's app) and from nginx (Debian's nginx-light,
 *    sendfile on, 2 workers, bound to 127.0.0.1 only, started and stopped by this bench by PID).
 *    Aggregate throughput = bytes / wall time of the batch; p95 of the single downloads.
 *    Goals: throughput ≥ 0.75 × nginx, p95 ≤ 2 × nginx.
 *  - script: `/boot/ipxe?mac=` asked 300 times one after the other (a PC's first HTTP request),
 *    against nginx serving a static file of the same size. Goal: p95 ≤ 5 ms.
 *
 * The clients run in their own process (bench/http-boot-load.ts), the same for both servers.
 * Rounds interleave nginx and ours; ratios are medians of the per-round ratios.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createFakeHost } from '../test/helpers/fake-host';
import { startTestModule } from '../test/helpers/test-module';
import { loadAverage, median, quantile, round } from './bench-stats';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
const MAC = '02:00:00:00:00:01';

export interface HttpBootBenchOptions {
  readonly mib?: number;
  readonly concurrency?: number;
  readonly rounds?: number;
  readonly scriptRequests?: number;
}

function load(input: object, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [path.join(__dirname, 'http-boot-load.js'), JSON.stringify(input)], { timeout: timeoutMs, maxBuffer: 1 << 20 },
      (e, stdout, stderr) => (e ? reject(new Error(`load process: ${e.message} ${stderr}`)) : resolve(JSON.parse(stdout) as Record<string, unknown>)));
    child.stdin?.end();
  });
}

const freePort = () => new Promise<number>((resolve, reject) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  }).on('error', reject);
});

/** user + system CPU (ms) of a process and its children, from /proc. */
function procCpuMs(pids: readonly number[]): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += (Number(f[11]) + Number(f[12])) * (1000 / tick);
    } catch { /* gone */ }
  }
  return total;
}

function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function startNginx(dir: string, root: string, port: number): Promise<ChildProcess> {
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, [
    'daemon off;', 'worker_processes 2;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/nginx-error.log;`,
    'events { worker_connections 1024; }',
    'http {', '  access_log off;', '  sendfile on;', '  tcp_nopush on;', '  keepalive_requests 100000;',
    `  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/px; fastcgi_temp_path ${dir}/fc; uwsgi_temp_path ${dir}/uw; scgi_temp_path ${dir}/sc;`,
    `  server { listen 127.0.0.1:${port}; root ${root}; location / { default_type application/octet-stream; } }`, '}', '',
  ].join('\n'));
  const child = spawn(NGINX!, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); }).on('error', () => r(false));
    });
    if (up) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not start: ${fs.existsSync(`${dir}/nginx-error.log`) ? fs.readFileSync(`${dir}/nginx-error.log`, 'utf8').slice(-500) : ''}`);
}

export async function runHttpBootBench(opts: HttpBootBenchOptions = {}): Promise<Record<string, unknown>> {
  if (!NGINX) return { skipped: 'nginx is not installed (scripts/install-system-deps.sh installs nginx-light)' };
  const mib = opts.mib ?? 8;
  const concurrency = opts.concurrency ?? 50;
  const rounds = opts.rounds ?? 3;
  const host = createFakeHost();
  const initrd = randomBytes(mib * 1048576);
  const tk = path.join(host.dataDir, 'toolkits', 'clonage');
  fs.mkdirSync(tk, { recursive: true });
  fs.writeFileSync(path.join(tk, 'vmlinuz'), randomBytes(4096));
  fs.writeFileSync(path.join(tk, 'initrd.img'), initrd);
  fs.chmodSync(host.dataDir, 0o755); // nginx's workers run as nobody
  const m = await startTestModule({}, host);
  const { base } = m;
  const ngDir = path.join(host.dataDir, 'nginx');
  fs.mkdirSync(ngDir);
  const ngRoot = path.join(ngDir, 'root');
  fs.mkdirSync(path.join(ngRoot, 'files', 'clonage'), { recursive: true });
  fs.copyFileSync(path.join(tk, 'initrd.img'), path.join(ngRoot, 'files', 'clonage', 'initrd.img'));
  const script = await (await fetch(`${base}/modules/clonage/boot/ipxe?mac=${MAC}`)).text();
  fs.writeFileSync(path.join(ngRoot, 'ipxe.txt'), script);
  fs.chmodSync(ngDir, 0o755);
  let nginx: ChildProcess | null = null;
  const loadStart = loadAverage();
  try {
    const port = await freePort();
    nginx = await startNginx(ngDir, ngRoot, port);
    const ngBase = `http://127.0.0.1:${port}`;
    const nginxPids = () => [nginx!.pid!, ...childPids(nginx!.pid!)];
    const files = async (who: 'nginx' | 'ours') => {
      const url = who === 'nginx' ? `${ngBase}/files/clonage/initrd.img` : `${base}/modules/clonage/boot/files/clonage/initrd.img`;
      const cpu0 = who === 'nginx' ? procCpuMs(nginxPids()) : process.cpuUsage();
      const r = await load({ mode: 'files', url, concurrency, bytes: initrd.length }, 300_000) as { wallMs: number; each: number[] };
      const cpuMs = who === 'nginx' ? procCpuMs(nginxPids()) - (cpu0 as number) : ((u) => (u.user + u.system) / 1000)(process.cpuUsage(cpu0 as NodeJS.CpuUsage));
      return { mibPerSecond: round((concurrency * mib) / (r.wallMs / 1000)), p95Ms: round(quantile(r.each, 0.95)), wallMs: round(r.wallMs), serverCpuMs: round(cpuMs) };
    };
    const scripts = async (who: 'nginx' | 'ours') => {
      const url = who === 'nginx' ? `${ngBase}/ipxe.txt` : `${base}/modules/clonage/boot/ipxe?mac=${MAC}`;
      const count = opts.scriptRequests ?? 300;
      const cpu0 = who === 'nginx' ? procCpuMs(nginxPids()) : process.cpuUsage();
      const r = await load({ mode: 'script', url, count }, 120_000) as { each: number[] };
      const cpuMs = who === 'nginx' ? procCpuMs(nginxPids()) - (cpu0 as number) : ((u) => (u.user + u.system) / 1000)(process.cpuUsage(cpu0 as NodeJS.CpuUsage));
      // server CPU per request: what the machine's load does not change
      return { p50Ms: round(quantile(r.each, 0.5), 2), p95Ms: round(quantile(r.each, 0.95), 2), serverCpuMsPerRequest: round(cpuMs / count, 3) };
    };
    const rows: { nginx: Awaited<ReturnType<typeof files>>; ours: Awaited<ReturnType<typeof files>> }[] = [];
    const scriptRows: { nginx: Awaited<ReturnType<typeof scripts>>; ours: Awaited<ReturnType<typeof scripts>> }[] = [];
    for (let i = 0; i < rounds; i++) {
      rows.push({ nginx: await files('nginx'), ours: await files('ours') });
      scriptRows.push({ nginx: await scripts('nginx'), ours: await scripts('ours') });
    }
    const throughputRatio = round(median(rows.map((r) => r.ours.mibPerSecond / r.nginx.mibPerSecond)), 2);
    const p95Ratio = round(median(rows.map((r) => r.ours.p95Ms / r.nginx.p95Ms)), 2);
    const scriptP95 = median(scriptRows.map((r) => r.ours.p95Ms));
    return {
      files: {
        what: `${concurrency} concurrent downloads of a ${mib} MiB initrd`, rounds: rows,
        throughputRatio, p95Ratio, cpuRatio: round(median(rows.map((r) => r.ours.serverCpuMs / Math.max(1, r.nginx.serverCpuMs))), 1),
        goals: { throughput: { goal: '>= 0.75 x nginx', met: throughputRatio >= 0.75 }, p95: { goal: '<= 2 x nginx', met: p95Ratio <= 2 } },
      },
      ipxeScript: {
        what: `/boot/ipxe?mac= asked ${opts.scriptRequests ?? 300} times in a row; baseline nginx serving the same text as a static file`,
        rounds: scriptRows, p95Ratio: round(median(scriptRows.map((r) => r.ours.p95Ms / r.nginx.p95Ms)), 1),
        goal: { p95Ms: '<= 5', medianP95Ms: scriptP95, met: scriptP95 <= 5 },
      },
      loadAverage: { start: loadStart, end: loadAverage() },
    };
  } finally {
    if (nginx?.pid && nginx.exitCode === null) {
      const done = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGQUIT');
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      if (nginx.exitCode === null) nginx.kill('SIGKILL');
    }
    await m.stop();
  }
}

if (require.main === module) {
  runHttpBootBench().then((r) => console.log(JSON.stringify(r, null, 2)), (e) => { console.error(e); process.exit(1); });
}
