/**
 * One QEMU PC (TCG) running the boot environment built from this tree (pxe/build-bootenv.sh)
 * against the module's real API: actions + image store on a fake host served on a Unix socket,
 * reached from the bridge namespace through a TCP relay at <bridge>:8080, dnsmasq for DHCP, and a
 * PC disk holding ext4 + NTFS with files. Shared by the backup suites that need a real kernel
 * (backup-qemu: server and partition stores; backup-smb-qemu: the SMB share).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Mac } from '../../src/common/domain/mac';
import { register } from '../../src/index';
import { createFakeHost, type FakeHost, fakeHostApp } from './fake-host';
import { RecordingWaker } from './actions-fixtures';
import { NOTHING_BLOCKS } from './fakes';
import { addTap, createTestNet, destroyTestNet, listenUnixWithPeer, netnsUnavailableReason, relayTcpToUnix, spawnInNs, type TestNet, waitForExit } from './netns';
import { LoopDisks, writeFiles } from './backup-loop-disks';

const ROOT = path.resolve(__dirname, '../..');
const BUILD = path.join(ROOT, 'pxe/build-bootenv.sh');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Why the lab cannot run here, or null. */
export function qemuLabUnavailableReason(): string | null {
  return netnsUnavailableReason() ??
    (['apt-get', 'dpkg-deb', 'depmod', 'cpio', 'qemu-system-x86_64', 'dnsmasq'].find((c) => !has(c)) ? 'build tools, qemu-system-x86_64 or dnsmasq missing' : null);
}

export interface BootResult {
  readonly code: number | null;
  readonly serial: string;
  readonly target: Record<string, string>;
}

export interface QemuAgentLab {
  readonly tmp: string;
  readonly host: FakeHost;
  readonly net: TestNet;
  readonly disks: LoopDisks;
  /** The PC's 64 MiB disk: DOS table, vda1 ext4 and vda2 NTFS holding extSums / ntfsSums. */
  readonly diskFile: string;
  readonly extSums: Record<string, string>;
  readonly ntfsSums: Record<string, string>;
  /** Creates the action for pc01, arms it, boots the VM with the plan's job and token; resolves at power-off. */
  bootJob(name: string, type: 'backup' | 'restore', params: Record<string, string>, disk?: string): Promise<BootResult>;
  /** The agent log and the end of the console, for a failure message. */
  show(r: BootResult, lines?: number): string;
  stop(): Promise<void>;
}

/** `tmpPrefix` names the scratch directory (under the system temp dir). */
export async function startQemuAgentLab(tmpPrefix: string): Promise<QemuAgentLab> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  // Undone in reverse order by stop(), or at once if the start fails half-way.
  const undo: Array<() => unknown> = [() => fs.rmSync(tmp, { recursive: true, force: true })];
  const stop = async () => {
    for (const u of undo.splice(0).reverse()) await u();
  };
  try {
    return await start(tmp, undo, stop);
  } catch (e) {
    await stop();
    throw e;
  }
}

async function start(tmp: string, undo: Array<() => unknown>, stop: () => Promise<void>): Promise<QemuAgentLab> {
  const out = path.join(tmp, 'bootenv');
  const b = spawnSync('bash', [BUILD, out], { env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' }, encoding: 'utf8', timeout: 900000 });
  if (b.status !== 0) throw new Error(`build-bootenv.sh failed (${b.status}):\n${b.stderr}`);
  const host = createFakeHost();
  undo.push(() => host.cleanup());
  // The VM (another MAC than the lab's pc01) gets a dynamic lease: its calls are bound to the
  // address that fetched the job, not to pc01's reservation.
  host.settings.set('agent.addressCheck', 'fetcher');
  // The module through its composition root; the PC is started by QEMU, not woken.
  const module = await register(host, { waker: new RecordingWaker(), blocker: NOTHING_BLOCKS, tickMs: 0, imageStore: { reserveBytes: 0 } });
  undo.push(() => module.stop());
  const { parts } = module;
  const sock = path.join(tmp, 'module.sock');
  const sockServer = await listenUnixWithPeer(fakeHostApp(host), sock);
  undo.push(() => {
    sockServer.closeAllConnections();
    return new Promise((r) => sockServer.close(r));
  });
  const net = createTestNet(0);
  undo.push(() => destroyTestNet(net));
  addTap(net, 'tap0');
  const subnet = net.bridgeIp.replace(/\.1$/, '');
  spawnInNs(net, net.bridgeNs, 'dnsmasq', ['--keep-in-foreground', '--port=0', '--user=root', '--interface=br0', '--bind-interfaces',
    `--dhcp-range=${subnet}.100,${subnet}.150,255.255.255.0,1h`, `--dhcp-leasefile=${tmp}/leases`, `--pid-file=${tmp}/dnsmasq.pid`,
    '--no-resolv', '--no-hosts', `--log-facility=${tmp}/dnsmasq.log`]);
  await relayTcpToUnix(net, net.bridgeNs, net.bridgeIp, 8080, sock, { peer: true });
  const url = `http://${net.bridgeIp}:8080/modules/clonage`;

  // The PC's disk: ext4 and NTFS made through loop devices, then detached and given to QEMU.
  const disks = new LoopDisks(tmp);
  undo.push(() => disks.cleanup());
  const d = disks.attach('vm', 64, 'label: dos\n,24M,83\n,,7\n');
  execFileSync('mkfs.ext4', ['-q', d.part(1)]);
  execFileSync('mkntfs', ['-Q', '-q', d.part(2)], { stdio: 'ignore' });
  const extSums = disks.withMount(d.part(1), 'ext4', false, (m) => writeFiles(m, { 'big.bin': 2 << 20, 'etc/hostname': 'pc01\n' }));
  const ntfsSums = disks.withMount(d.part(2), 'ntfs', false, (m) => writeFiles(m, { 'Windows/big.bin': 1 << 20, 'readme.txt': 'salut\n' }));
  disks.cleanup();

  return {
    tmp, host, net, disks, diskFile: d.file, extSums, ntfsSums, stop,
    async bootJob(name, type, params, disk = d.file) {
      await parts.actions.create({ login: 'admin', displayName: 'Admin' }, { type, parcs: ['salle1'], machines: ['pc01'], params: { disk: 'vda', auto_reboot: 'always', ...params } });
      await parts.scheduler.tick(host.clock.now());
      const plan = parts.bootPlans.get(Mac.parse('02:00:00:00:00:01'));
      if (plan?.kind !== 'job') throw new Error('no armed job');
      const serialFile = path.join(tmp, `${name}.serial`);
      const qemu = spawnInNs(net, net.bridgeNs, 'qemu-system-x86_64', ['-machine', 'pc,accel=tcg', '-m', '512', '-display', 'none', '-monitor', 'none',
        '-serial', `file:${serialFile}`, '-no-reboot', '-kernel', path.join(out, 'vmlinuz'), '-initrd', path.join(out, 'initrd.img'),
        '-append', `panic=5 clonage.server=${url} clonage.job=${plan.jobId} clonage.token=${plan.token} console=ttyS0,115200 console=tty0 BOOTIF=01-52-54-00-12-00-01`,
        '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:00:01',
        '-drive', `file=${disk},format=raw,if=virtio`]);
      const res = await waitForExit(qemu, 600000);
      const serial = fs.existsSync(serialFile) ? fs.readFileSync(serialFile, 'utf8') : '';
      const target = host.db.prepare('SELECT state, message, log FROM clonage_targets WHERE id = ?').get(plan.jobId) as Record<string, string>;
      return { code: res.code, serial, target };
    },
    show: (r, lines = 30) => `${r.target.log ?? ''}\n--- console\n${r.serial.split('\n').slice(-lines).join('\n')}`,
  };
}
