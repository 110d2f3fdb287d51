/**
 * Manual modes of the agent (maintenance menu: `clonage.manual=…`, no job, no token, no HTTP),
 * with the real busybox sh and real udpcast in namespaces, disks as plain files.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { execFileSync } from 'child_process';
import { createTestNet, destroyTestNet, NetHost, netnsUnavailableReason, RunResult, spawnInNs, TestNet, waitForExit } from '../helpers/netns';

const ROOT = path.resolve(__dirname, '../..');
const AGENT = path.join(ROOT, 'pxe/agent/clonage-agent.sh');
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p)) ?? 'busybox';

// Only root and `ip netns` are reasons to skip; a missing udpcast must fail (an install step is missing).
const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`agent manual-mode tests SKIPPED: ${skipReason}`);
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

(skipReason ? describe.skip : describe)('agent manual modes', () => {
  let net: TestNet;
  let tmp: string;
  let n = 0;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-agent-manual-'));
    fs.mkdirSync(path.join(tmp, 'bin'));
    execFileSync(BUSYBOX, ['--install', '-s', path.join(tmp, 'bin')]);
    net = createTestNet(2);
  });

  afterAll(() => {
    destroyTestNet(net);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function disk(content: Buffer): string {
    const dir = path.join(tmp, `pc${++n}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'sda'), content);
    return dir;
  }

  function agent(host: NetHost, devDir: string, cmdline: string): { done: Promise<RunResult>; work: string } {
    const work = path.join(tmp, `work${++n}`);
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'cmdline'), `${cmdline}\n`);
    // stdin stays an open pipe: in manual mode udpcast keeps the console (key press to start).
    const child = spawnInNs(net, host.ns, BUSYBOX, ['sh', AGENT], {
      env: {
        PATH: `${tmp}/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        CLONAGE_CMDLINE: path.join(work, 'cmdline'), CLONAGE_DEV_DIR: devDir, CLONAGE_WORK_DIR: path.join(work, 'agent'),
        CLONAGE_REBOOT_CMD: `touch ${work}/reboot-requested`, CLONAGE_POWEROFF_CMD: `touch ${work}/poweroff-requested`, CLONAGE_IFACE: host.iface,
      },
    });
    return { done: waitForExit(child, 90000), work };
  }

  test('manual sender (receivers=1) and manual receiver clone without any server, then stay on', async () => {
    const src = disk(randomBytes(8 << 20));
    const dst = disk(Buffer.alloc(8 << 20));
    const r = agent(net.hosts[1], dst, 'console=ttyS0 clonage.manual=receiver clonage.port=9010 clonage.compression=gzip');
    await new Promise((res) => setTimeout(res, 300));
    const s = agent(net.hosts[0], src, 'console=ttyS0 clonage.manual=sender clonage.port=9010 clonage.compression=gzip clonage.receivers=1');
    const [rs, rr] = await Promise.all([s.done, r.done]);
    expect({ code: rs.code, err: rs.stderr.slice(-1500) }).toMatchObject({ code: 0 });
    expect({ code: rr.code, err: rr.stderr.slice(-1500) }).toMatchObject({ code: 0 });
    expect(rs.stderr).toMatch(/manual sender: success/);
    expect(sha256(path.join(dst, 'sda'))).toBe(sha256(path.join(src, 'sda')));
    for (const w of [s.work, r.work]) {
      expect(fs.existsSync(path.join(w, 'reboot-requested'))).toBe(false);
      expect(fs.existsSync(path.join(w, 'poweroff-requested'))).toBe(false);
    }
  }, 100000);

  test.each([
    ['unknown mode', 'clonage.manual=wipe', 3],
    ['bad disk', 'clonage.manual=receiver clonage.disk=sda;reboot', 3],
    ['odd port', 'clonage.manual=receiver clonage.port=9011', 3],
    ['shell', 'clonage.manual=shell', 0],
    ['backup (not yet)', 'clonage.manual=backup', 1],
  ])('%s (%s): no disk touched, exit %i', async (_name, words, code) => {
    const dir = disk(randomBytes(1 << 20));
    const before = sha256(path.join(dir, 'sda'));
    const res = await agent(net.hosts[1], dir, `console=ttyS0 ${words}`).done;
    expect({ code: res.code, err: res.stderr.slice(-800) }).toMatchObject({ code });
    expect(res.stderr).not.toMatch(/udp-receiver|udp-sender/);
    expect(sha256(path.join(dir, 'sda'))).toBe(before);
  }, 30000);
});
