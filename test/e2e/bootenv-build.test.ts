/**
 * pxe/build-bootenv.sh for real (Debian packages through the .deb cache), then a QEMU smoke test:
 * the built kernel + initrd boot in a namespace, get an address by DHCP, and the agent, refused by
 * the server, touches no disk and reboots (QEMU runs with -no-reboot, so it exits).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { execFileSync, spawnSync } from 'child_process';
import { addTap, createTestNet, destroyTestNet, netnsUnavailableReason, spawnInNs, TestNet, waitForExit } from '../helpers/netns';
import { AgentTestServer } from '../helpers/agent-test-server';
import { agentFileList } from '../helpers/agent-shell';

const ROOT = path.resolve(__dirname, '../..');
const BUILD = path.join(ROOT, 'pxe/build-bootenv.sh');
const SOURCE_DATE_EPOCH = '1767225600'; // 2026-01-01T00:00:00Z

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const buildSkip = ['apt-get', 'dpkg-deb', 'depmod', 'readelf', 'cpio', 'zstd'].find((c) => !has(c));
if (buildSkip) console.warn(`boot environment build test SKIPPED: ${buildSkip} is not installed`);
const qemuSkip = buildSkip ? 'no build' : (netnsUnavailableReason() ?? (['qemu-system-x86_64', 'dnsmasq'].find((c) => !has(c)) ? 'qemu-system-x86_64 or dnsmasq missing' : null));
if (qemuSkip && !buildSkip) console.warn(`boot environment QEMU smoke test SKIPPED: ${qemuSkip}`);

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function build(out: string): { ms: number; stderr: string } {
  const t0 = Date.now();
  const r = spawnSync('bash', [BUILD, out], { env: { ...process.env, SOURCE_DATE_EPOCH }, encoding: 'utf8', timeout: 600000 });
  if (r.status !== 0) throw new Error(`build-bootenv.sh failed (${r.status}):\n${r.stderr}`);
  return { ms: Date.now() - t0, stderr: r.stderr };
}

(buildSkip ? describe.skip : describe)('boot environment', () => {
  let tmp: string;
  let out: string;
  let listing: string[];

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-bootenv-'));
    out = path.join(tmp, 'bootenv');
    const { ms, stderr } = build(out);
    console.log(`boot environment built in ${ms} ms\n${stderr.trim().split('\n').slice(-1)[0]}`);
    const cpio = execFileSync('sh', ['-c', 'zstd -dc "$1" | cpio -t --quiet', 'sh', path.join(out, 'initrd.img')], { maxBuffer: 64 << 20 });
    listing = cpio.toString().split('\n').filter(Boolean);
  }, 900000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('manifest describes the files it sits beside', () => {
    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({ name: 'clonage', kernel: 'vmlinuz', initrd: 'initrd.img', sourceDateEpoch: Number(SOURCE_DATE_EPOCH), buildDate: '2026-01-01T00:00:00Z' });
    expect(m.kernelVersion).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(m.sha256).toEqual({ vmlinuz: sha256(path.join(out, 'vmlinuz')), 'initrd.img': sha256(path.join(out, 'initrd.img')) });
    for (const p of ['busybox-static', 'udpcast', 'partclone', 'zstd', 'fdisk', 'libc6', `linux-image-${m.kernelVersion}`]) {
      expect(m.packages[p]).toMatch(/^[0-9]/);
    }
    const size = fs.statSync(path.join(out, 'initrd.img')).size;
    console.log(`initrd.img: ${size} bytes, vmlinuz: ${fs.statSync(path.join(out, 'vmlinuz')).size} bytes`);
    expect(size).toBeLessThan(12 * 1024 * 1024);
  });

  test('initrd holds init, busybox, udpcast, the agent and indexed modules', () => {
    const kver = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).kernelVersion;
    for (const f of ['init', 'bin/busybox', 'bin/sh', 'usr/bin/wget', 'sbin/modprobe', 'usr/bin/udp-sender', 'usr/bin/udp-receiver',
      'usr/bin/zstd', 'sbin/sfdisk', 'sbin/blkid', 'usr/sbin/partclone.extfs', 'lib64/ld-linux-x86-64.so.2', 'lib/x86_64-linux-gnu/libc.so.6',
      'usr/share/clonage/agent/clonage-agent.sh', ...agentFileList().map((f) => `usr/share/clonage/agent/${f}`),
      'usr/share/clonage/udhcpc.script', 'usr/share/clonage/power', `lib/modules/${kver}/modules.dep`, `lib/modules/${kver}/modules.alias`]) {
      expect(listing).toContain(f);
    }
    // Every driver of pxe/initramfs/modules.list is in the initrd, or built into the kernel
    // (the kernel's modules.builtin, copied into the initrd, says so): none silently missing.
    const norm = (n: string) => n.replace(/-/g, '_');
    const kos = new Set(listing.filter((f) => f.endsWith('.ko')).map((f) => norm(path.basename(f, '.ko'))));
    const builtin = new Set(execFileSync('sh', ['-c', 'zstd -dc "$1" | cpio -i --quiet --to-stdout "$2"', 'sh', path.join(out, 'initrd.img'), `lib/modules/${kver}/modules.builtin`])
      .toString().split('\n').filter(Boolean).map((f) => norm(path.basename(f, '.ko'))));
    const wanted = fs.readFileSync(path.join(ROOT, 'pxe/initramfs/modules.list'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map(norm);
    expect(wanted.length).toBeGreaterThan(60);
    expect(wanted.filter((m) => !kos.has(m) && !builtin.has(m))).toEqual([]);
    for (const ko of ['virtio_net', 'virtio_blk', 'e1000', 'e1000e', 'r8169', 'igb', 'igc', 'tg3', 'alx', 'r8152', 'vmd', 'sdhci_pci', 'mmc_block', 'ahci', 'sd_mod', 'nvme', 'ext4', 'loop']) {
      expect(kos.has(ko)).toBe(true);
    }
    expect(kos.has('usb_storage') || kos.has('uas')).toBe(false);
    expect(listing.some((f) => f.startsWith('dev/') && f !== 'dev')).toBe(false);
  });

  // A no-op is shown by what the run did (nothing rewritten), never by how long it took: a loaded
  // machine makes any wall-clock threshold flaky (speed belongs to benchmarks).
  test('a second run is a no-op and gives the same bytes', () => {
    const outputs = ['vmlinuz', 'initrd.img', 'manifest.json'].map((f) => path.join(out, f));
    const before = outputs.map((f) => ({ f, sha256: sha256(f), mtimeMs: fs.statSync(f).mtimeMs }));
    const { stderr } = build(out);
    expect(stderr).toMatch(/up to date/);
    expect(outputs.map((f) => ({ f, sha256: sha256(f), mtimeMs: fs.statSync(f).mtimeMs }))).toEqual(before);
  }, 600000);

  (qemuSkip ? describe.skip : describe)('QEMU smoke (TCG)', () => {
    let net: TestNet | undefined;
    let server: AgentTestServer | undefined;
    let url: string;
    let run: string;

    beforeAll(async () => {
      net = createTestNet(0);
      addTap(net, 'tap0');
      run = path.join(tmp, 'qemu');
      fs.mkdirSync(run);
      const subnet = net.bridgeIp.replace(/\.1$/, '');
      spawnInNs(net, net.bridgeNs, 'dnsmasq', ['--keep-in-foreground', '--port=0', '--user=root', '--interface=br0', '--bind-interfaces',
        `--dhcp-range=${subnet}.100,${subnet}.150,255.255.255.0,1h`, `--dhcp-leasefile=${run}/leases`, `--pid-file=${run}/dnsmasq.pid`,
        '--no-resolv', '--no-hosts', `--log-facility=${run}/dnsmasq.log`]);
      server = await AgentTestServer.start(path.join(tmp, 'server.sock'));
      url = await server.exposeIn(net, net.bridgeNs, net.bridgeIp, 8080);
    });
    afterAll(async () => {
      await server?.stop();
      destroyTestNet(net);
    });

    /** Boots the built kernel + initrd with one virtio disk; resolves with the serial console. */
    async function bootVm(name: string, disk: string, args: string, hw: { nic?: string; disks?: string[] } = {}): Promise<string> {
      const serialFile = path.join(run, `${name}.serial`);
      const t0 = Date.now();
      const qemu = spawnInNs(net!, net!.bridgeNs, 'qemu-system-x86_64', ['-machine', 'pc,accel=tcg', '-m', '256', '-display', 'none', '-monitor', 'none',
        '-serial', `file:${serialFile}`, '-no-reboot', '-kernel', path.join(out, 'vmlinuz'), '-initrd', path.join(out, 'initrd.img'),
        // Consoles as src/boot/kernel-args.ts renders them: /dev/console is tty0 (the last one),
        // so the agent's lines reach the serial port only through init's copy to ttyS0.
        '-append', `panic=5 clonage.server=${url} ${args} console=ttyS0,115200 console=tty0 BOOTIF=01-52-54-00-12-00-01`,
        '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', `${hw.nic ?? 'virtio-net-pci'},netdev=n0,mac=52:54:00:12:00:01`,
        ...(hw.disks ?? ['-drive', `file=${disk},format=raw,if=virtio`])]);
      const res = await waitForExit(qemu, 240000); // ~20 s alone; minutes when the host is loaded
      const serial = fs.existsSync(serialFile) ? fs.readFileSync(serialFile, 'utf8') : '';
      console.log(`${name}: QEMU exited after ${Date.now() - t0} ms (code ${res.code}); console tail:\n${serial.split('\n').slice(-8).join('\n')}`);
      expect(res.code).toBe(0);
      expect(serial).toMatch(/network interface eth0/);
      return serial;
    }

    test('refused job: the agent says so on the console, touches no disk, and the VM goes down', async () => {
      server!.addJob('jq_refused', randomBytes(32).toString('base64url'), { job: 'jq_refused', role: 'receiver', disk: 'vda', port: 9002 });
      const disk = path.join(run, 'refused.img');
      fs.writeFileSync(disk, randomBytes(4 * 1024 * 1024));
      const before = sha256(disk);
      const serial = await bootVm('refused', disk, `clonage.job=jq_refused clonage.token=${randomBytes(32).toString('base64url')}`);
      expect(serial).toMatch(/BOOT LOCAL: job refused or unreachable \(HTTP 403\)/);
      expect(server!.callsOf('jq_refused').map((c) => [c.kind, c.status])).toEqual([['get', 403]]);
      expect(sha256(disk)).toBe(before);
    }, 250000);

    test('report job on a real block device: partition table, ext4 seen and mounted read-only, disk unchanged, halt', async () => {
      const disk = path.join(run, 'report.img');
      fs.writeFileSync(disk, Buffer.alloc(16 * 1024 * 1024));
      execFileSync('sfdisk', ['--quiet', disk], { input: 'label: dos\n,8MiB,L\n' });
      execFileSync('mke2fs', ['-q', '-t', 'ext4', '-F', '-E', 'offset=1048576', disk, '8192']);
      const before = sha256(disk);
      const token = randomBytes(32).toString('base64url');
      server!.addJob('jq_report', token, { job: 'jq_report', role: 'report', auto_reboot: 'always' }, 'halt');
      const serial = await bootVm('report', disk, `clonage.job=jq_report clonage.token=${token}`);
      expect(serial).toMatch(/powering off/);
      const report = server!.callsOf('jq_report', 'report');
      expect(report).toHaveLength(1);
      expect(report[0].body).toMatch(/### sfdisk -d vda\n[\s\S]*\/dev\/vda1 : start= *2048, size= *16384, type=83/);
      expect(report[0].body).toMatch(/\/dev\/vda1: .*TYPE="ext4"/);
      expect(report[0].body).toMatch(/### df\n[\s\S]*vda1 ext4/);
      expect(server!.callsOf('jq_report', 'result')[0].form).toMatchObject({ status: 'succeeded', exit_code: '0' });
      expect(sha256(disk)).toBe(before);
    }, 250000);

    test('other hardware: e1000e NIC, AHCI and NVMe disks found through modules.alias', async () => {
      const sata = path.join(run, 'sata.img');
      const nvme = path.join(run, 'nvme.img');
      fs.writeFileSync(sata, Buffer.alloc(8 * 1024 * 1024));
      fs.writeFileSync(nvme, Buffer.alloc(8 * 1024 * 1024));
      execFileSync('sfdisk', ['--quiet', nvme], { input: 'label: gpt\n,4MiB,L\n' });
      const token = randomBytes(32).toString('base64url');
      server!.addJob('jq_hw', token, { job: 'jq_hw', role: 'report' }, 'halt');
      await bootVm('hardware', sata, `clonage.job=jq_hw clonage.token=${token}`, {
        nic: 'e1000e',
        disks: ['-device', 'ahci,id=ahci', '-drive', `id=d0,file=${sata},format=raw,if=none`, '-device', 'ide-hd,drive=d0,bus=ahci.0',
          '-drive', `id=d1,file=${nvme},format=raw,if=none`, '-device', 'nvme,drive=d1,serial=clonage1'],
      });
      const report = server!.callsOf('jq_hw', 'report');
      expect(report).toHaveLength(1);
      expect(report[0].body).toMatch(/### disk sda\nsize=8388608/);
      expect(report[0].body).toMatch(/### disk nvme0n1\nsize=8388608/);
      expect(report[0].body).toMatch(/label: gpt/);
    }, 250000);
  });
});
