/**
 * The real agent (pxe/agent/clonage-agent.sh run by the real busybox sh) and real udpcast, each
 * "PC" a network namespace on a bridge, disks as plain files under CLONAGE_DEV_DIR, the server
 * side played by AgentTestServer (docs/agent-protocol.md) inside the bridge namespace.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { execFileSync } from 'child_process';
import { createTestNet, destroyTestNet, NetHost, netnsUnavailableReason, pidsInNs, processName, RunResult, spawnInNs, TestNet, waitForExit } from '../helpers/netns';
import { AgentTestServer } from '../helpers/agent-test-server';

const ROOT = path.resolve(__dirname, '../..');
const AGENT = path.join(ROOT, 'pxe/agent/clonage-agent.sh');
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p)) ?? 'busybox';
const MIB = 1024 * 1024;
const EXIT_BOOT_LOCAL = 3;

// Only root and `ip netns` are reasons to skip; a missing udpcast must fail (an install step is missing).
const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`agent integration tests SKIPPED: ${skipReason}`);
const describeNs = skipReason ? describe.skip : describe;

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const token = () => randomBytes(32).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeNs('clonage agent + udpcast in network namespaces', () => {
  let net: TestNet;
  let server: AgentTestServer;
  let tmp: string;
  let serverUrl: string;
  let binDir: string;
  let stubDir: string;
  let runs = 0;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-agent-'));
    // busybox applets first in PATH, as in the initramfs (wget, timeout, blockdev, stat...).
    binDir = path.join(tmp, 'bin');
    fs.mkdirSync(binDir);
    execFileSync(BUSYBOX, ['--install', '-s', binDir]);
    // Stubs that record any udpcast start: the refusal tests assert they never ran.
    stubDir = path.join(tmp, 'stubs');
    fs.mkdirSync(stubDir);
    for (const name of ['udp-sender', 'udp-receiver']) {
      fs.writeFileSync(path.join(stubDir, name), `#!/bin/sh\necho "$0 $*" >> ${tmp}/udpcast-started\nexit 0\n`, { mode: 0o755 });
    }
    net = createTestNet(4);
    server = await AgentTestServer.start(path.join(tmp, 'server.sock'));
    serverUrl = await server.exposeIn(net, net.bridgeNs, net.bridgeIp, 8080);
  });

  afterAll(async () => {
    await server?.stop();
    destroyTestNet(net);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function makeDisk(pc: number, content: 'random' | 'zero', size = 32 * MIB): string {
    const dir = path.join(tmp, `pc${pc}`);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'sda');
    fs.writeFileSync(file, content === 'random' ? randomBytes(size) : Buffer.alloc(size));
    return dir;
  }

  interface AgentRun {
    done: Promise<RunResult>;
    work: string;
    pid: number;
  }

  function startAgent(host: NetHost, devDir: string, cmdline: string, opts: { stubs?: boolean } = {}): AgentRun {
    runs += 1;
    const work = path.join(tmp, `run${runs}`);
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'cmdline'), `${cmdline}\n`);
    const PATH = [opts.stubs ? stubDir : '', binDir, '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter(Boolean).join(':');
    const child = spawnInNs(net, host.ns, BUSYBOX, ['sh', AGENT], {
      env: {
        PATH,
        CLONAGE_CMDLINE: path.join(work, 'cmdline'),
        CLONAGE_DEV_DIR: devDir,
        CLONAGE_WORK_DIR: path.join(work, 'agent'),
        CLONAGE_REBOOT_CMD: `touch ${work}/reboot-requested`,
        CLONAGE_POWEROFF_CMD: `touch ${work}/poweroff-requested`,
        CLONAGE_IFACE: host.iface,
      },
    });
    return { done: waitForExit(child, 120000), work, pid: child.pid! };
  }

  const cmdlineFor = (job: string, tok: string) => `console=ttyS0 clonage.server=${serverUrl} clonage.job=${job} clonage.token=${tok} BOOTIF=01-52-54-00-12-00-01`;

  function cloneJobs(prefix: string, port: number, extra: Record<string, string | number>) {
    const ids = { s: `${prefix}_s`, r1: `${prefix}_r1`, r2: `${prefix}_r2` };
    const toks = { s: token(), r1: token(), r2: token() };
    const common = { disk: 'sda', port, auto_reboot: 'always', ...extra };
    server.addJob(ids.s, toks.s, { job: ids.s, role: 'sender', min_receivers: 2, min_wait: 0, max_wait: 60, ...common });
    server.addJob(ids.r1, toks.r1, { job: ids.r1, role: 'receiver', start_timeout: 60, ...common });
    server.addJob(ids.r2, toks.r2, { job: ids.r2, role: 'receiver', start_timeout: 60, ...common });
    return { ids, toks };
  }

  test('one sender, two receivers: disks byte-identical, progress and results reported', async () => {
    const [d0, d1, d2] = [makeDisk(0, 'random'), makeDisk(1, 'zero'), makeDisk(2, 'random')];
    const source = sha256(path.join(d0, 'sda'));
    // max_bitrate stretches the transfer over a few seconds so progress is sampled.
    const { ids, toks } = cloneJobs('ja', 9002, { compression: 'zstd', max_bitrate: '64m' });
    const r1 = startAgent(net.hosts[1], d1, cmdlineFor(ids.r1, toks.r1));
    const r2 = startAgent(net.hosts[2], d2, cmdlineFor(ids.r2, toks.r2));
    await sleep(300);
    const s = startAgent(net.hosts[0], d0, cmdlineFor(ids.s, toks.s));
    const [rs, rr1, rr2] = await Promise.all([s.done, r1.done, r2.done]);

    for (const [run, res] of [[s, rs], [r1, rr1], [r2, rr2]] as const) {
      expect({ code: res.code, stderr: res.stderr.slice(-2000) }).toMatchObject({ code: 0 });
      expect(fs.existsSync(path.join(run.work, 'reboot-requested'))).toBe(true);
    }
    expect(sha256(path.join(d0, 'sda'))).toBe(source);
    expect(sha256(path.join(d1, 'sda'))).toBe(source);
    expect(sha256(path.join(d2, 'sda'))).toBe(source);
    for (const id of Object.values(ids)) {
      const result = server.callsOf(id, 'result');
      expect(result).toHaveLength(1);
      expect(result[0].form).toMatchObject({ status: 'succeeded', exit_code: '0' });
      const progress = server.callsOf(id, 'progress').map((c) => c.form);
      expect(progress.every((p) => Number(p.percent) >= 0 && Number(p.percent) <= 100)).toBe(true);
      // Percent counts disk bytes for everyone, also for the compressing sender (zstd here).
      expect(progress.some((p) => p.stage === 'transfer' && Number(p.bytes) > 0 && Number(p.rate_kbps) > 0 && Number(p.percent) > 0)).toBe(true);
      expect(progress[progress.length - 1]).toMatchObject({ stage: 'done', percent: '100' });
      expect(server.callsOf(id, 'log')[0].body).toMatch(/Transfer complete/);
      expect(server.callsOf(id).every((c) => c.status < 300)).toBe(true);
    }
  }, 150000);

  test('a receiver killed mid-transfer fails alone; the other receiver and the sender succeed', async () => {
    const [d0, d1, d2] = [makeDisk(0, 'random'), makeDisk(1, 'zero'), makeDisk(2, 'zero')];
    const source = sha256(path.join(d0, 'sda'));
    // retries_until_drop: udpcast's default (200) would keep the class waiting for minutes.
    const { ids, toks } = cloneJobs('jb', 9004, { compression: 'none', max_bitrate: '24m', retries_until_drop: 8 });
    const r1 = startAgent(net.hosts[1], d1, cmdlineFor(ids.r1, toks.r1));
    const r2 = startAgent(net.hosts[2], d2, cmdlineFor(ids.r2, toks.r2));
    await sleep(300);
    const s = startAgent(net.hosts[0], d0, cmdlineFor(ids.s, toks.s));

    // Kill receiver 2's udp-receiver (not its agent) once the transfer is under way.
    const deadline = Date.now() + 60000;
    let killed = 0;
    while (!killed && Date.now() < deadline) {
      await sleep(200);
      if (!server.callsOf(ids.r2, 'progress').some((c) => c.form.stage === 'transfer')) continue;
      for (const pid of pidsInNs(net.hosts[2].ns)) {
        if (processName(pid) === 'udp-receiver') {
          process.kill(pid, 'SIGKILL');
          killed = pid;
        }
      }
    }
    expect(killed).toBeGreaterThan(0);
    const [rs, rr1, rr2] = await Promise.all([s.done, r1.done, r2.done]);

    expect(rr2.code).toBe(1);
    expect(server.callsOf(ids.r2, 'result')[0].form.status).toBe('failed');
    expect(server.callsOf(ids.r2, 'result')[0].form.exit_code).not.toBe('0');
    expect(sha256(path.join(d2, 'sda'))).not.toBe(source);
    expect(rr1.code).toBe(0);
    expect(sha256(path.join(d1, 'sda'))).toBe(source);
    expect(server.callsOf(ids.r1, 'result')[0].form.status).toBe('succeeded');
    expect(rs.code).toBe(0);
    // The sender names the receiver udp-sender dropped: the server fails it at once.
    expect(server.callsOf(ids.s, 'result')[0].form).toMatchObject({ status: 'succeeded', dropped: net.hosts[2].ip });
  }, 150000);

  test('the sender powered off mid-transfer: receivers give up after receive_timeout, fail as partly written and stay on', async () => {
    const [d0, d1] = [makeDisk(0, 'random'), makeDisk(1, 'zero')];
    const source = sha256(path.join(d0, 'sda'));
    // 32 MiB at 8 Mbit/s: ~34 s of transfer; the sender's agent and udp-sender die after a few seconds.
    const { ids, toks } = cloneJobs('jh', 9010, { compression: 'none', max_bitrate: '8m', min_receivers: 1, receive_timeout: 6 });
    const r1 = startAgent(net.hosts[1], d1, cmdlineFor(ids.r1, toks.r1));
    await sleep(300);
    const s = startAgent(net.hosts[0], d0, cmdlineFor(ids.s, toks.s));
    const deadline = Date.now() + 60000;
    while (!server.callsOf(ids.r1, 'progress').some((c) => c.form.stage === 'transfer') && Date.now() < deadline) await sleep(200);
    // Power off: the whole PC at once (the stream's short-lived dd/cat may be gone already).
    for (const pid of pidsInNs(net.hosts[0].ns)) try { process.kill(pid, 'SIGKILL'); } catch { /* exited */ }
    await s.done;
    const rr = await r1.done;
    expect(sha256(path.join(d1, 'sda'))).not.toBe(source);
    const result = server.callsOf(ids.r1, 'result');
    expect(result.map((c) => [c.form.status, c.form.exit_code, c.form.disk])).toEqual([['failed', '8', 'incomplete']]);
    expect(result[0].form.message).toMatch(/receiver failed: udp-receiver exit/);
    expect(rr.code).toBe(1);
    expect(rr.stderr).toMatch(/DISQUE INCOMPLET : sda a ete ecrit en partie/);
    expect(fs.existsSync(path.join(r1.work, 'reboot-requested'))).toBe(false); // never into a half-written disk
    // Bounded by receive_timeout, shown by what the receiver logged, not by a wall clock.
    expect(server.callsOf(ids.r1, 'log')[0].body).toMatch(/--receive-timeout 6/);
  }, 120000);

  test('action cancelled mid-transfer (410 on progress): udpcast stopped, agents fail; the receiver stays on (disk incomplete)', async () => {
    const [d0, d1] = [makeDisk(0, 'random'), makeDisk(1, 'zero')];
    const source = sha256(path.join(d0, 'sda'));
    // 32 MiB at 8 Mbit/s: ~34 s of transfer, far more than the agents need to see the 410 (one
    // progress period, 2 s), even on a loaded machine.
    const { ids, toks } = cloneJobs('jf', 9008, { compression: 'none', max_bitrate: '8m', min_receivers: 1 });
    const r1 = startAgent(net.hosts[1], d1, cmdlineFor(ids.r1, toks.r1));
    await sleep(300);
    const s = startAgent(net.hosts[0], d0, cmdlineFor(ids.s, toks.s));
    const deadline = Date.now() + 60000;
    while (!server.callsOf(ids.r1, 'progress').some((c) => c.form.stage === 'transfer') && Date.now() < deadline) await sleep(200);
    for (const id of [ids.s, ids.r1]) server.jobs.get(id)!.state = 'cancelled';
    const [rs, rr] = await Promise.all([s.done, r1.done]);
    // Stopped rather than finished for nobody, shown by the disk (never by a wall-clock threshold):
    // the receiver did not get the whole image.
    expect(sha256(path.join(d1, 'sda'))).not.toBe(source);
    for (const res of [rs, rr]) {
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/the server cancelled this job/);
    }
    // auto_reboot=always: the sender reboots; the receiver's disk is partly written, it stays on and says so.
    expect(fs.existsSync(path.join(s.work, 'reboot-requested'))).toBe(true);
    expect(fs.existsSync(path.join(r1.work, 'reboot-requested'))).toBe(false);
    expect(rr.stderr).toMatch(/DISQUE INCOMPLET/);
    expect(server.callsOf(ids.r1, 'result').map((c) => c.status)).toEqual([410]);
    expect(pidsInNs(net.hosts[0].ns).concat(pidsInNs(net.hosts[1].ns)).map(processName)).not.toContain('udp-sender');
  }, 120000);

  // Refusals: the agent must not open the disk nor start udpcast, and must ask to boot locally.
  async function expectBootLocal(host: NetHost, cmdline: string): Promise<{ res: RunResult; work: string }> {
    const dir = makeDisk(3, 'random', 1 * MIB);
    const before = sha256(path.join(dir, 'sda'));
    fs.rmSync(path.join(tmp, 'udpcast-started'), { force: true });
    const run = startAgent(host, dir, cmdline, { stubs: true });
    const res = await run.done;
    expect({ code: res.code, stderr: res.stderr.slice(-1500) }).toMatchObject({ code: EXIT_BOOT_LOCAL });
    expect(res.stderr).toMatch(/BOOT LOCAL/);
    expect(fs.existsSync(path.join(run.work, 'reboot-requested'))).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'udpcast-started'))).toBe(false);
    expect(sha256(path.join(dir, 'sda'))).toBe(before);
    return { res, work: run.work };
  }

  test.each([
    ['wrong token', 'bad_tok', 'ready', 403],
    ['cancelled job', 'ok', 'cancelled', 410],
    ['job already consumed', 'ok', 'running', 409],
    ['unknown job', 'unknown', 'ready', 404],
  ])('refused by the server (%s): boot local, disk untouched, no udpcast', async (_name, mode, state, status) => {
    const id = `jc_${runs}`;
    const tok = token();
    const job = server.addJob(id, tok, { job: id, role: 'receiver', disk: 'sda', port: 9006 });
    job.state = state as typeof job.state;
    const asked = mode === 'unknown' ? `${id}x` : id;
    await expectBootLocal(net.hosts[3], cmdlineFor(asked, mode === 'bad_tok' ? token() : tok));
    const calls = server.calls.filter((c) => c.job === asked);
    expect(calls.map((c) => [c.kind, c.status])).toEqual([['get', status]]);
    if (mode !== 'unknown') expect(server.jobs.get(id)!.state).toBe(state);
  }, 30000);

  test.each([
    ['token with a shell metacharacter', (id: string, tok: string) => cmdlineFor(id, `${tok.slice(0, 40)};reboot`)],
    ['job id with a slash', (id: string, tok: string) => cmdlineFor(`../${id}`, tok)],
    ['server that is not http', (id: string, tok: string) => `clonage.server=ftp://10.0.0.1/x clonage.job=${id} clonage.token=${tok}`],
    ['no clonage arguments', () => 'console=ttyS0 quiet'],
  ])('refused before any HTTP call (%s)', async (_name, cmdline) => {
    const id = `jk_${runs}`;
    const tok = token();
    server.addJob(id, tok, { job: id, role: 'receiver', disk: 'sda', port: 9006 });
    const before = server.calls.length;
    await expectBootLocal(net.hosts[3], cmdline(id, tok));
    expect(server.calls.length).toBe(before);
  }, 30000);

  test.each([
    ['disk=sda;rm', 'role=receiver\ndisk=sda;rm\nport=9006\n'],
    ['disk with a path', 'role=receiver\ndisk=../sda\nport=9006\n'],
    ['odd port', 'role=receiver\ndisk=sda\nport=9007\n'],
    ['unknown role', 'role=wipe\ndisk=sda\nport=9006\n'],
    ['unknown compression', 'role=receiver\ndisk=sda\nport=9006\ncompression=bzip2\n'],
    ['value with a space', 'role=receiver\ndisk=sda\nport=9006\nmin_wait=1 0\n'],
    ['line without =', 'role=receiver\ndisk=sda\nport=9006\nrm -rf /\n'],
    ['command substitution', 'role=receiver\ndisk=$(reboot)\nport=9006\n'],
    ['empty job', ''],
  ])('malformed job (%s): refused, result failed, disk untouched', async (_name, body) => {
    const id = `jd_${runs}`;
    const tok = token();
    server.addJob(id, tok, body);
    await expectBootLocal(net.hosts[3], cmdlineFor(id, tok));
    const result = server.callsOf(id, 'result');
    expect(result).toHaveLength(1);
    expect(result[0].form).toMatchObject({ status: 'failed', exit_code: '2' });
    expect(result[0].form.message).toMatch(/refused/);
  }, 30000);

  test('a job answer without a session secret: boot local, disk untouched, no further call', async () => {
    const id = `jn_${runs}`;
    const tok = token();
    const job = server.addJob(id, tok, { job: id, role: 'receiver', disk: 'sda', port: 9006 });
    job.giveSession = false;
    const { res } = await expectBootLocal(net.hosts[3], cmdlineFor(id, tok));
    expect(res.stderr).toMatch(/no session secret/);
    expect(server.callsOf(id).map((c) => [c.kind, c.status])).toEqual([['get', 200]]);
  }, 30000);

  test('report role: posts partition table and block ids, then a result', async () => {
    const dir = makeDisk(3, 'zero', 8 * MIB);
    execFileSync('sfdisk', ['--quiet', path.join(dir, 'sda')], { input: 'label: dos\n,4MiB,L\n' });
    const id = `je_${runs}`;
    const tok = token();
    server.addJob(id, tok, { job: id, role: 'report', disk: 'sda' }, 'never');
    const run = startAgent(net.hosts[3], dir, cmdlineFor(id, tok), { stubs: true });
    const res = await run.done;
    expect({ code: res.code, stderr: res.stderr.slice(-1500) }).toMatchObject({ code: 0 });
    const report = server.callsOf(id, 'report');
    expect(report).toHaveLength(1);
    expect(report[0].body).toMatch(/### sfdisk -d sda\n[\s\S]*label: dos/);
    expect(report[0].body).toMatch(/### blkid/);
    expect(server.callsOf(id, 'result')[0].form.status).toBe('succeeded');
    // reboot=never: the agent stays up and asks for nothing.
    expect(fs.existsSync(path.join(run.work, 'reboot-requested'))).toBe(false);
    // The session secret went with every later call and was written to no file.
    const session = server.jobs.get(id)!.session!;
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    expect(files(run.work).filter((f) => fs.readFileSync(f, 'latin1').includes(session))).toEqual([]);
  }, 30000);
});
