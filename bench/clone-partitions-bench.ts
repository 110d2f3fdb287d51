/**
 * Benchmark (not a test): the clone by partition (pxe/agent/agent-clone.sh) against raw udpcast
 * moving the same used bytes with the same compression. The emitter is a loop disk (a file in
 * /dev/shm, DOS table, one ext4 partition) holding `usedMiB` of incompressible files; each PC is a
 * network namespace on a bridge (test/helpers/netns.ts).
 *
 *  - raw: the ext4 partition's partclone stream saved once to a file, then
 *    `udp-sender --file stream --pipe "zstd -1 -c"` → N × `udp-receiver --file out --pipe "zstd -d -c"`
 *    (the flags the agent passes), from spawning the processes to the last receiver's exit;
 *  - clonage: the real agent (busybox sh) as sender and N receivers against AgentTestServer, on
 *    loop disks, from spawning the agents to the last agent's exit (table, boot area, partclone
 *    on both sides, SHA-256 per partition, result posted): what a classroom waits for.
 * Runs interleaved raw/clonage, medians reported: ratio clonage/raw and the fixed overhead
 * (clonage − raw, seconds). A clonage run counts only if every agent succeeded (each receiver
 * compared every partition's SHA-256 with the sender's). Bounded: one run ≤ timeoutMs, every
 * process killed by its group, loops detached and namespaces deleted in `finally`.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentTestServer } from '../test/helpers/agent-test-server';
import { createTestNet, destroyTestNet, netnsUnavailableReason, spawnInNs, waitForExit, type RunResult, type TestNet } from '../test/helpers/netns';

const ROOT = path.resolve(__dirname, '..', '..');
const AGENT = path.join(ROOT, 'pxe/agent/clonage-agent.sh');
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p)) ?? 'busybox';
const MIB = 1 << 20;
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface ClonePartitionsBenchOptions {
  readonly receivers?: readonly number[];
  /** Incompressible data in the emitter's ext4 (default 256 MiB; the figure is 1024). */
  readonly usedMiB?: number;
  readonly repeats?: number;
  readonly timeoutMs?: number;
}

interface Disk { file: string; loop: string }

export async function runClonePartitionsBench(opts: ClonePartitionsBenchOptions = {}): Promise<Record<string, unknown>> {
  const skip = netnsUnavailableReason();
  if (skip) return { skipped: skip };
  const receiversList = opts.receivers ?? [1, 4];
  const usedMiB = opts.usedMiB ?? 256;
  const repeats = opts.repeats ?? 2;
  const timeoutMs = opts.timeoutMs ?? 300000;
  const diskMiB = usedMiB + Math.max(128, usedMiB >> 1);
  const maxN = Math.max(...receiversList);
  const tmp = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), `clonage-bench-disk${process.pid}-`));
  const loops: string[] = [];
  let net: TestNet | undefined;
  let server: AgentTestServer | undefined;
  const attach = (file: string): Disk => {
    const loop = run('losetup', ['-fP', '--show', file]).trim();
    loops.push(loop);
    for (let i = 0; i < 50 && !fs.existsSync(`${loop}p1`); i++) { if (i % 10 === 0) try { run('partx', ['-u', loop]); } catch { /* retried */ } execFileSync('sleep', ['0.1']); }
    return { file, loop };
  };
  const detach = (d: Disk) => { try { run('losetup', ['-d', d.loop]); } catch { /* gone */ } loops.splice(loops.indexOf(d.loop), 1); };
  const devDir = (name: string, d: Disk) => {
    const dir = path.join(tmp, `dev-${name}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    fs.symlinkSync(d.loop, path.join(dir, 'sda'));
    fs.symlinkSync(`${d.loop}p1`, path.join(dir, 'sda1'));
    return dir;
  };
  try {
    // The emitter: ext4 over the disk, usedMiB of random files written through a mount.
    const srcFile = path.join(tmp, 'src.img');
    fs.writeFileSync(srcFile, '');
    fs.truncateSync(srcFile, diskMiB * MIB);
    execFileSync('sfdisk', ['-q', srcFile], { input: 'label: dos\n,,83\n', stdio: ['pipe', 'pipe', 'pipe'] });
    const src = attach(srcFile);
    run('mkfs.ext4', ['-q', '-F', `${src.loop}p1`]);
    const mnt = path.join(tmp, 'mnt');
    fs.mkdirSync(mnt);
    run('mount', [`${src.loop}p1`, mnt]);
    try {
      for (let i = 0; i < usedMiB / 16; i++) fs.writeFileSync(path.join(mnt, `f${i}.bin`), randomBytes(16 * MIB));
    } finally { run('umount', [mnt]); }
    const stream = path.join(tmp, 'stream.pc');
    run('partclone.extfs', ['-c', '-s', `${src.loop}p1`, '-o', stream, '-L', path.join(tmp, 'pc.log')]);
    const streamBytes = fs.statSync(stream).size;
    const binDir = path.join(tmp, 'bin');
    fs.mkdirSync(binDir);
    execFileSync(BUSYBOX, ['--install', '-s', binDir]);
    net = createTestNet(maxN + 1);
    server = await AgentTestServer.start(path.join(tmp, 'server.sock'));
    const serverUrl = await server.exposeIn(net, net.bridgeNs, net.bridgeIp, 8080);
    const rows: Record<string, unknown>[] = [];
    let port = 9600;
    for (const n of receiversList) {
      const raw: number[] = [];
      const clonage: number[] = [];
      for (let r = 0; r < repeats; r++) {
        raw.push(await rawRun(net, tmp, stream, n, (port += 2), timeoutMs));
        // Receivers: zero disks of the emitter's size, attached afresh for each run.
        const dsts = Array.from({ length: n }, (_, i) => {
          const f = path.join(tmp, `dst${i}.img`);
          fs.writeFileSync(f, '');
          fs.truncateSync(f, diskMiB * MIB);
          return { file: f, loop: run('losetup', ['-f', '--show', f]).trim() };
        });
        loops.push(...dsts.map((d) => d.loop));
        try {
          clonage.push(await agentRun(net, server, serverUrl, binDir, devDir('src', src), dsts.map((d, i) => devDir(`dst${i}`, d)), (port += 2), `r${n}x${r}`, tmp, timeoutMs));
        } finally {
          for (const d of dsts) { detach(d); fs.rmSync(d.file, { force: true }); }
        }
      }
      const rawS = median(raw) / 1000;
      const clonageS = median(clonage) / 1000;
      rows.push({ receivers: n, rawSeconds: rawS, clonageSeconds: clonageS, ratio: Math.round((clonageS / rawS) * 100) / 100,
        fixedOverheadSeconds: Math.round((clonageS - rawS) * 10) / 10, runs: { raw, clonage } });
    }
    return {
      what: `clone by partition of a ${diskMiB} MiB disk (ext4, ${usedMiB} MiB of random files: a ${streamBytes}-byte partclone stream), zstd, vs raw udpcast of that stream with the same compression`,
      rows, loadAverage: os.loadavg(),
      method: 'interleaved raw/clonage, median of the runs; clonage = agents spawned → every agent exited (results posted, SHA-256 per partition compared by every receiver); raw = processes spawned → last receiver exited',
    };
  } finally {
    await server?.stop();
    for (const l of [...loops]) try { run('losetup', ['-d', l]); } catch { /* gone */ }
    if (net) destroyTestNet(net);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function settle(children: Array<Promise<RunResult>>, what: string): Promise<void> {
  const results = await Promise.all(children);
  const bad = results.map((r, i) => (r.code === 0 ? null : `${what} #${i}: exit ${r.code} ${r.stderr.slice(-300)}`)).filter(Boolean);
  if (bad.length) throw new Error(bad.join(' | '));
}

async function rawRun(net: TestNet, tmp: string, stream: string, n: number, port: number, timeoutMs: number): Promise<number> {
  const common = ['--portbase', String(port), '--interface', 'eth0', '--nokbd'];
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const outs = Array.from({ length: n }, (_, i) => path.join(tmp, `raw${i}.out`));
  const t0 = Date.now();
  const kids: ChildProcess[] = [];
  try {
    const done = outs.map((o, i) => {
      const c = spawnInNs(net, net.hosts[i + 1].ns, 'udp-receiver', ['--file', o, ...common, '--start-timeout', '120', '--pipe', 'zstd -d -c'], { stdio: ['ignore', 'pipe', 'pipe'], env });
      kids.push(c);
      return waitForExit(c, timeoutMs);
    });
    const s = spawnInNs(net, net.hosts[0].ns, 'udp-sender', ['--file', stream, ...common, '--min-receivers', String(n), '--min-wait', '0', '--max-wait', '60', '--pipe', 'zstd -1 -c'],
      { stdio: ['ignore', 'pipe', 'pipe'], env });
    kids.push(s);
    await settle([...done, waitForExit(s, timeoutMs)], 'raw udpcast');
    const ms = Date.now() - t0;
    const want = fs.statSync(stream).size;
    for (const o of outs) if (fs.statSync(o).size !== want) throw new Error(`raw: ${o} has ${fs.statSync(o).size} bytes, ${want} sent`);
    return ms;
  } finally {
    for (const k of kids) try { process.kill(-k.pid!, 'SIGKILL'); } catch { /* exited */ }
    for (const o of outs) fs.rmSync(o, { force: true });
  }
}

async function agentRun(net: TestNet, server: AgentTestServer, serverUrl: string, binDir: string, srcDev: string, dstDevs: string[], port: number,
  id: string, tmp: string, timeoutMs: number): Promise<number> {
  const n = dstDevs.length;
  const common = { disk: 'sda', port, compression: 'zstd', auto_reboot: 'always' };
  const start = (host: number, dev: string, job: string, fields: Record<string, string | number>) => {
    const tok = randomBytes(32).toString('base64url');
    server.addJob(job, tok, { job, ...fields, ...common });
    const work = path.join(tmp, `work-${job}`);
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(path.join(work, 'cmdline'), `clonage.server=${serverUrl} clonage.job=${job} clonage.token=${tok}\n`);
    const c = spawnInNs(net, net.hosts[host].ns, BUSYBOX, ['sh', AGENT], {
      env: { PATH: `${binDir}:/usr/sbin:/usr/bin:/sbin:/bin`, CLONAGE_CMDLINE: path.join(work, 'cmdline'), CLONAGE_DEV_DIR: dev,
        CLONAGE_WORK_DIR: path.join(work, 'agent'), CLONAGE_REBOOT_CMD: 'true', CLONAGE_POWEROFF_CMD: 'true', CLONAGE_IFACE: 'eth0' },
    });
    return waitForExit(c, timeoutMs);
  };
  const t0 = Date.now();
  const done = dstDevs.map((d, i) => start(i + 1, d, `${id}_r${i}`, { role: 'receiver', start_timeout: 120 }));
  done.push(start(0, srcDev, `${id}_s`, { role: 'sender', min_receivers: n, min_wait: 0, max_wait: 60, retries_until_drop: 60 }));
  await settle(done, 'clonage agent');
  return Date.now() - t0;
}

if (require.main === module) {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : undefined; };
  runClonePartitionsBench({ usedMiB: arg('--used-mib'), repeats: arg('--repeats') })
    .then((r) => { process.stdout.write(`${JSON.stringify(r, null, 2)}\n`); })
    .catch((e) => { process.stderr.write(`${String(e)}\n`); process.exit(1); });
}
