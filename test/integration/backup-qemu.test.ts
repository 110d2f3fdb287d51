/**
 * Backup and restore in QEMU (TCG) with the boot environment built from this tree
 * (pxe/build-bootenv.sh): the real kernel, initramfs, busybox and agent against the module's real
 * API (actions + image store, reached through a relay in the bridge namespace, dnsmasq for
 * DHCP). The VM's virtio disk holds ext4 + NTFS with files; backup → disk zeroed → restore in a
 * second boot → e2fsck clean and every file identical. Unlike backup-restore.test.ts this runs
 * the kernel's own partition re-read (no partx in the initramfs) and the initramfs's tools.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { Mac } from '../../src/domain/mac';
import { errorMiddleware } from '../../src/http/error-middleware';
import type { ImageManifest } from '../../src/images/image-types';
import { wireImages } from '../../src/images/wire-images';
import { MachineInventory } from '../../src/inventory/machine-inventory';
import { type ActionWiring, wireActions } from '../../src/index';
import { migrateClonage } from '../../src/store/clonage-schema';
import { createFakeHost, type FakeHost, fakeHostApp } from '../helpers/fake-host';
import { addTap, createTestNet, destroyTestNet, netnsUnavailableReason, relayTcpToUnix, spawnInNs, type TestNet, waitForExit } from '../helpers/netns';
import { LoopDisks, sumFiles, writeFiles } from './backup-loop-disks';

const ROOT = path.resolve(__dirname, '../..');
const BUILD = path.join(ROOT, 'pxe/build-bootenv.sh');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = netnsUnavailableReason() ??
  (['apt-get', 'dpkg-deb', 'depmod', 'cpio', 'qemu-system-x86_64', 'dnsmasq'].find((c) => !has(c)) ? 'build tools, qemu-system-x86_64 or dnsmasq missing' : null);
if (skip) console.warn(`backup/restore in QEMU SKIPPED: ${skip}`);

(skip ? describe.skip : describe)('backup and restore in QEMU with the built boot environment', () => {
  let tmp: string;
  let out: string;
  let host: FakeHost;
  let actions: ActionWiring;
  let bootPlans: BootPlanStore;
  let sockServer: http.Server;
  let net: TestNet;
  let url: string;
  let disks: LoopDisks;
  let diskFile: string;
  let extSums: Record<string, string>;
  let ntfsSums: Record<string, string>;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-bq-'));
    out = path.join(tmp, 'bootenv');
    const b = spawnSync('bash', [BUILD, out], { env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' }, encoding: 'utf8', timeout: 900000 });
    if (b.status !== 0) throw new Error(`build-bootenv.sh failed (${b.status}):\n${b.stderr}`);
    host = createFakeHost();
    migrateClonage(host.db);
    bootPlans = new BootPlanStore(host.db, host.clock);
    const inventory = new MachineInventory(host.directory, host.dhcp);
    const images = wireImages(host, { reserveBytes: 0 });
    actions = await wireActions(host, inventory, { bootPlans, tickMs: 0 });
    images.attach(actions.service);
    host.web.router.use(errorMiddleware(host.web, host.logger));
    const sock = path.join(tmp, 'module.sock');
    sockServer = await new Promise<http.Server>((resolve) => {
      const s = http.createServer(fakeHostApp(host)).listen(sock, () => resolve(s));
    });
    net = createTestNet(0);
    addTap(net, 'tap0');
    const subnet = net.bridgeIp.replace(/\.1$/, '');
    spawnInNs(net, net.bridgeNs, 'dnsmasq', ['--keep-in-foreground', '--port=0', '--user=root', '--interface=br0', '--bind-interfaces',
      `--dhcp-range=${subnet}.100,${subnet}.150,255.255.255.0,1h`, `--dhcp-leasefile=${tmp}/leases`, `--pid-file=${tmp}/dnsmasq.pid`,
      '--no-resolv', '--no-hosts', `--log-facility=${tmp}/dnsmasq.log`]);
    await relayTcpToUnix(net, net.bridgeNs, net.bridgeIp, 8080, sock);
    url = `http://${net.bridgeIp}:8080/modules/clonage`;

    // The PC's disk: ext4 and NTFS made through loop devices, then detached and given to QEMU.
    disks = new LoopDisks(tmp);
    const d = disks.attach('vm', 64, 'label: dos\n,24M,83\n,,7\n');
    diskFile = d.file;
    execFileSync('mkfs.ext4', ['-q', d.part(1)]);
    execFileSync('mkntfs', ['-Q', '-q', d.part(2)], { stdio: 'ignore' });
    extSums = disks.withMount(d.part(1), 'ext4', false, (m) => writeFiles(m, { 'big.bin': 2 << 20, 'etc/hostname': 'pc01\n' }));
    ntfsSums = disks.withMount(d.part(2), 'ntfs', false, (m) => writeFiles(m, { 'Windows/big.bin': 1 << 20, 'readme.txt': 'salut\n' }));
    disks.cleanup();
  }, 900000);

  afterAll(async () => {
    destroyTestNet(net);
    disks?.cleanup();
    await actions?.stop();
    if (sockServer) {
      sockServer.closeAllConnections();
      await new Promise((r) => sockServer.close(r));
    }
    host?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Creates the action, arms it, boots the VM with the plan's job and token; resolves at power-off. */
  async function bootJob(name: string, type: 'backup' | 'restore', params: Record<string, string>, disk = diskFile) {
    await actions.service.create({ login: 'admin', displayName: 'Admin' }, { type, parcs: ['salle1'], machines: ['pc01'], params: { disk: 'vda', auto_reboot: 'always', ...params } });
    await actions.service.tick(host.clock.now());
    const plan = bootPlans.get(Mac.parse('02:00:00:00:00:01'));
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
  }
  const show = (r: { serial: string; target: Record<string, string> }) => `${r.target.log ?? ''}\n--- console\n${r.serial.split('\n').slice(-30).join('\n')}`;

  test('backup from the VM, zero the disk, restore in a second boot: files identical', async () => {
    const b = await bootJob('backup', 'backup', { compression: 'zstd', image: 'vm_image' });
    expect({ code: b.code, state: b.target.state, why: b.target.state === 'succeeded' ? '' : show(b) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    const dir = path.join(host.dataDir, 'images', '02-00-00-00-00-01', 'vm_image');
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
    expect(m.partitions.map((p) => [p.name, p.fs, p.tool])).toEqual([['vda1', 'ext4', 'partclone.extfs'], ['vda2', 'ntfs', 'partclone.ntfs']]);

    fs.writeFileSync(diskFile, Buffer.alloc(64 << 20));
    const r = await bootJob('restore', 'restore', {});
    expect({ code: r.code, state: r.target.state, why: r.target.state === 'succeeded' ? '' : show(r) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    expect(r.target.log).toMatch(/all files verified/);
    const d = disks.attachFile(diskFile, 2);
    execFileSync('e2fsck', ['-fn', d.part(1)], { stdio: 'pipe' }); // throws unless clean
    expect(disks.withMount(d.part(1), 'ext4', true, (mnt) => sumFiles(mnt, Object.keys(extSums)))).toEqual(extSums);
    expect(disks.withMount(d.part(2), 'ntfs', true, (mnt) => sumFiles(mnt, Object.keys(ntfsSums)))).toEqual(ntfsSums);
  }, 1500000);

  test('store=partition in the VM: image on vda3 (label CLONAGE), vda1/vda2 zeroed, restored from vda3 with the kernel re-read', async () => {
    const d = disks.attach('vmp', 64, 'label: dos\n,20M,83\n,20M,7\n,,83\n');
    execFileSync('mkfs.ext4', ['-q', d.part(1)]);
    execFileSync('mkntfs', ['-Q', '-q', d.part(2)], { stdio: 'ignore' });
    execFileSync('mkfs.ext4', ['-q', '-L', 'CLONAGE', d.part(3)]);
    const ext = disks.withMount(d.part(1), 'ext4', false, (m) => writeFiles(m, { 'big.bin': 2 << 20, 'etc/hostname': 'pc01\n' }));
    const ntfs = disks.withMount(d.part(2), 'ntfs', false, (m) => writeFiles(m, { 'readme.txt': 'salut\n' }));
    disks.cleanup();
    const b = await bootJob('pbackup', 'backup', { compression: 'zstd', image: 'vm_part', store: 'partition' }, d.file);
    expect({ code: b.code, state: b.target.state, why: b.target.state === 'succeeded' ? '' : show(b) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    const store = () => fs.readFileSync(d.file).subarray(41 << 20);
    const storeBefore = store();
    const fd = fs.openSync(d.file, 'r+');
    fs.writeSync(fd, Buffer.alloc(40 << 20), 0, 40 << 20, 1 << 20); // vda1 and vda2, not the table nor vda3
    fs.closeSync(fd);
    const r = await bootJob('prestore', 'restore', { store: 'partition' }, d.file);
    expect({ code: r.code, state: r.target.state, why: r.target.state === 'succeeded' ? '' : show(r) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    expect(r.target.log).toMatch(/vda3: the storage partition, left as it is/);
    expect(store().equals(storeBefore)).toBe(true);
    const a = disks.attachFile(d.file, 3);
    execFileSync('e2fsck', ['-fn', a.part(1)], { stdio: 'pipe' });
    expect(disks.withMount(a.part(1), 'ext4', true, (mnt) => sumFiles(mnt, Object.keys(ext)))).toEqual(ext);
    expect(disks.withMount(a.part(2), 'ntfs', true, (mnt) => sumFiles(mnt, Object.keys(ntfs)))).toEqual(ntfs);
    expect(disks.withMount(a.part(3), 'ext4', true, (mnt) => fs.readdirSync(path.join(mnt, 'clonage')))).toEqual(['vm_part']);
  }, 1500000);
});
