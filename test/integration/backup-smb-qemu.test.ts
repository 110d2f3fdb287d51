/**
 * store=smb end to end: the boot environment built from this tree (pxe/build-bootenv.sh, with
 * cifs.ko) boots in QEMU (TCG) against the module's real API and a real smbd (helpers/smbd.ts).
 * The machine running the tests may have no CIFS client of its own: only the VM's kernel mounts
 * the share. smbd listens on 127.0.0.1 in the root namespace; the VM reaches it at the bridge's
 * address, port 445, through a relay (TCP in the bridge namespace → Unix socket → TCP to smbd).
 * Backup to the share → the image under <share>/<subdir>/<mac>/<image>/, a row `smb` → disk
 * zeroed → restore from the share in a second boot → e2fsck clean, every file identical.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { Mac } from '../../src/domain/mac';
import { errorMiddleware } from '../../src/http/error-middleware';
import { wireImages } from '../../src/images/wire-images';
import { MachineInventory } from '../../src/inventory/machine-inventory';
import { type ActionWiring, wireActions } from '../../src/index';
import { migrateClonage } from '../../src/store/clonage-schema';
import { createFakeHost, type FakeHost, fakeHostApp } from '../helpers/fake-host';
import { addTap, createTestNet, destroyTestNet, netnsUnavailableReason, relayTcpToUnix, spawnInNs, type TestNet, waitForExit } from '../helpers/netns';
import { type RunningSmbd, SMB_PASSWORD, SMB_USER, SMB_WORKGROUP, smbdInstalled, startSmbd } from '../helpers/smbd';
import { LoopDisks, sumFiles, writeFiles } from './backup-loop-disks';

const ROOT = path.resolve(__dirname, '../..');
const BUILD = path.join(ROOT, 'pxe/build-bootenv.sh');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = netnsUnavailableReason() ??
  (['apt-get', 'dpkg-deb', 'depmod', 'cpio', 'qemu-system-x86_64', 'dnsmasq'].find((c) => !has(c)) ? 'build tools, qemu-system-x86_64 or dnsmasq missing' : null) ??
  (smbdInstalled() ? null : 'samba (smbd, smbpasswd, net) not installed');
if (skip) console.warn(`backup/restore to an SMB share in QEMU SKIPPED: ${skip}`);

(skip ? describe.skip : describe)('store=smb: QEMU boot environment, real smbd share', () => {
  let tmp: string;
  let out: string;
  let host: FakeHost;
  let actions: ActionWiring;
  let bootPlans: BootPlanStore;
  let servers: Array<http.Server | net.Server> = [];
  let tnet: TestNet;
  let url: string;
  let smbd: RunningSmbd;
  let disks: LoopDisks;
  let diskFile: string;
  let extSums: Record<string, string>;
  let ntfsSums: Record<string, string>;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-smbq-'));
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
    servers.push(await new Promise<http.Server>((resolve) => {
      const s = http.createServer(fakeHostApp(host)).listen(sock, () => resolve(s));
    }));
    smbd = await startSmbd();
    const smbSock = path.join(tmp, 'smb.sock');
    servers.push(await new Promise<net.Server>((resolve) => {
      const s = net.createServer((c) => {
        const t = net.connect(smbd.port, '127.0.0.1');
        c.pipe(t);
        t.pipe(c);
        c.on('error', () => t.destroy());
        t.on('error', () => c.destroy());
      }).listen(smbSock, () => resolve(s));
    }));
    tnet = createTestNet(0);
    addTap(tnet, 'tap0');
    const subnet = tnet.bridgeIp.replace(/\.1$/, '');
    spawnInNs(tnet, tnet.bridgeNs, 'dnsmasq', ['--keep-in-foreground', '--port=0', '--user=root', '--interface=br0', '--bind-interfaces',
      `--dhcp-range=${subnet}.100,${subnet}.150,255.255.255.0,1h`, `--dhcp-leasefile=${tmp}/leases`, `--pid-file=${tmp}/dnsmasq.pid`,
      '--no-resolv', '--no-hosts', `--log-facility=${tmp}/dnsmasq.log`]);
    await relayTcpToUnix(tnet, tnet.bridgeNs, tnet.bridgeIp, 8080, sock);
    await relayTcpToUnix(tnet, tnet.bridgeNs, tnet.bridgeIp, 445, smbSock);
    url = `http://${tnet.bridgeIp}:8080/modules/clonage`;
    for (const [k, v] of Object.entries({ 'smb.server': tnet.bridgeIp, 'smb.share': 'netlogon', 'smb.subdir': 'clonage/images', 'smb.user': SMB_USER,
      'smb.domain': SMB_WORKGROUP, 'smb.password': SMB_PASSWORD })) host.settings.set(k, v);

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
    destroyTestNet(tnet);
    disks?.cleanup();
    await actions?.stop();
    for (const s of servers) {
      if (s instanceof http.Server) s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await smbd?.stop();
    host?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function bootJob(name: string, type: 'backup' | 'restore', params: Record<string, string>) {
    await actions.service.create({ login: 'admin', displayName: 'Admin' }, { type, parcs: ['salle1'], machines: ['pc01'], params: { disk: 'vda', auto_reboot: 'always', store: 'smb', ...params } });
    await actions.service.tick(host.clock.now());
    const plan = bootPlans.get(Mac.parse('02:00:00:00:00:01'));
    if (plan?.kind !== 'job') throw new Error('no armed job');
    const serialFile = path.join(tmp, `${name}.serial`);
    const qemu = spawnInNs(tnet, tnet.bridgeNs, 'qemu-system-x86_64', ['-machine', 'pc,accel=tcg', '-m', '512', '-display', 'none', '-monitor', 'none',
      '-serial', `file:${serialFile}`, '-no-reboot', '-kernel', path.join(out, 'vmlinuz'), '-initrd', path.join(out, 'initrd.img'),
      '-append', `panic=5 clonage.server=${url} clonage.job=${plan.jobId} clonage.token=${plan.token} console=ttyS0,115200 console=tty0 BOOTIF=01-52-54-00-12-00-01`,
      '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:00:01',
      '-drive', `file=${diskFile},format=raw,if=virtio`]);
    const res = await waitForExit(qemu, 600000);
    const serial = fs.existsSync(serialFile) ? fs.readFileSync(serialFile, 'utf8') : '';
    const target = host.db.prepare('SELECT state, message, log FROM clonage_targets WHERE id = ?').get(plan.jobId) as Record<string, string>;
    return { code: res.code, serial, target };
  }
  const show = (r: { serial: string; target: Record<string, string> }) => `${r.target.log ?? ''}\n--- console\n${r.serial.split('\n').slice(-40).join('\n')}`;

  test('backup to the share, zero the disk, restore from the share: files identical; the password is in no boot file nor job', async () => {
    const b = await bootJob('backup', 'backup', { compression: 'zstd', image: 'vm_smb' });
    expect({ code: b.code, state: b.target.state, why: b.target.state === 'succeeded' ? '' : show(b) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    const dir = path.join(smbd.shareDir, 'clonage', 'images', '02-00-00-00-00-01', 'vm_smb');
    expect(fs.readdirSync(dir)).toEqual(expect.arrayContaining(['manifest.txt', 'table.sfdisk', 'head.bin', 'vda1.pc.zst.000', 'vda2.pc.zst.000']));
    expect(fs.readFileSync(path.join(dir, 'manifest.txt'), 'utf8')).toMatch(/^store smb share$/m);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['vm_smb']);
    expect(host.db.prepare('SELECT image, location, status FROM clonage_backups').all()).toEqual([{ image: 'vm_smb', location: 'smb', status: 'succeeded' }]);
    expect(b.serial + b.target.log).not.toContain(SMB_PASSWORD);

    fs.writeFileSync(diskFile, Buffer.alloc(64 << 20));
    const r = await bootJob('restore', 'restore', {});
    expect({ code: r.code, state: r.target.state, why: r.target.state === 'succeeded' ? '' : show(r) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    expect(r.target.log).toMatch(/all files verified/);
    const d = disks.attachFile(diskFile, 2);
    execFileSync('e2fsck', ['-fn', d.part(1)], { stdio: 'pipe' });
    expect(disks.withMount(d.part(1), 'ext4', true, (mnt) => sumFiles(mnt, Object.keys(extSums)))).toEqual(extSums);
    expect(disks.withMount(d.part(2), 'ntfs', true, (mnt) => sumFiles(mnt, Object.keys(ntfsSums)))).toEqual(ntfsSums);
  }, 1500000);

  test('a wrong share password: the backup fails with the mount error, nothing written, nothing recorded', async () => {
    host.settings.set('smb.password', 'not-the-password');
    const before = fs.readFileSync(diskFile);
    const b = await bootJob('badpw', 'backup', { compression: 'zstd', image: 'vm_badpw' });
    expect([b.code, b.target.state]).toEqual([0, 'failed']);
    expect(b.target.message).toMatch(/SMB share \/\/[0-9.]+\/netlogon could not be mounted.*nothing written/);
    expect(fs.existsSync(path.join(smbd.shareDir, 'clonage', 'images', '02-00-00-00-00-01', 'vm_badpw'))).toBe(false);
    expect(host.db.prepare("SELECT COUNT(*) AS n FROM clonage_backups WHERE image = 'vm_badpw'").get()).toEqual({ n: 0 });
    expect(fs.readFileSync(diskFile).equals(before)).toBe(true);
    expect(b.serial + b.target.log).not.toContain('not-the-password');
  }, 600000);
});
