/**
 * store=smb end to end: the boot environment built from this tree (pxe/build-bootenv.sh, with
 * cifs.ko) boots in QEMU (TCG) against the module's real API and a real smbd (helpers/smbd.ts).
 * The machine running the tests may have no CIFS client of its own: only the VM's kernel mounts
 * the share. smbd listens on 127.0.0.1 in the root namespace; the VM reaches it at the bridge's
 * address, port 445, through a relay (TCP in the bridge namespace → Unix socket → TCP to smbd).
 * Backup to the share → the image under <share>/<subdir>/<mac>/<image>/, a row `smb` → disk
 * zeroed → restore from the share in a second boot → e2fsck clean, every file identical.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { relayTcpToUnix } from '../helpers/netns';
import { type RunningSmbd, SMB_PASSWORD, SMB_USER, SMB_WORKGROUP, smbdInstalled, startSmbd } from '../helpers/smbd';
import { sumFiles } from '../helpers/backup-loop-disks';
import { type BootResult, qemuLabUnavailableReason, type QemuAgentLab, startQemuAgentLab } from '../helpers/qemu-agent-lab';

const skip = qemuLabUnavailableReason() ?? (smbdInstalled() ? null : 'samba (smbd, smbpasswd, net) not installed');
if (skip) console.warn(`backup/restore to an SMB share in QEMU SKIPPED: ${skip}`);

(skip ? describe.skip : describe)('store=smb: QEMU boot environment, real smbd share', () => {
  let lab: QemuAgentLab;
  let smbd: RunningSmbd;
  let smbRelay: net.Server | undefined;

  beforeAll(async () => {
    lab = await startQemuAgentLab('clonage-smbq-');
    smbd = await startSmbd();
    const smbSock = path.join(lab.tmp, 'smb.sock');
    smbRelay = await new Promise<net.Server>((resolve) => {
      const s = net.createServer((c) => {
        const t = net.connect(smbd.port, '127.0.0.1');
        c.pipe(t);
        t.pipe(c);
        c.on('error', () => t.destroy());
        t.on('error', () => c.destroy());
      }).listen(smbSock, () => resolve(s));
    });
    await relayTcpToUnix(lab.net, lab.net.bridgeNs, lab.net.bridgeIp, 445, smbSock);
    for (const [k, v] of Object.entries({ 'smb.server': lab.net.bridgeIp, 'smb.share': 'netlogon', 'smb.subdir': 'clonage/images', 'smb.user': SMB_USER,
      'smb.domain': SMB_WORKGROUP, 'smb.password': SMB_PASSWORD })) lab.host.settings.set(k, v);
  }, 900000);

  afterAll(async () => {
    if (smbRelay) await new Promise((r) => smbRelay!.close(r));
    await smbd?.stop();
    await lab?.stop();
  });

  const bootJob = (name: string, type: 'backup' | 'restore', params: Record<string, string>) => lab.bootJob(name, type, { store: 'smb', ...params });
  const show = (r: BootResult) => lab.show(r, 40);

  test('backup to the share, zero the disk, restore from the share: files identical; the password is in no boot file nor job', async () => {
    const b = await bootJob('backup', 'backup', { compression: 'zstd', image: 'vm_smb' });
    expect({ code: b.code, state: b.target.state, why: b.target.state === 'succeeded' ? '' : show(b) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    const dir = path.join(smbd.shareDir, 'clonage', 'images', '02-00-00-00-00-01', 'vm_smb');
    expect(fs.readdirSync(dir)).toEqual(expect.arrayContaining(['manifest.txt', 'table.sfdisk', 'head.bin', 'vda1.pc.zst.000', 'vda2.pc.zst.000']));
    expect(fs.readFileSync(path.join(dir, 'manifest.txt'), 'utf8')).toMatch(/^store smb share$/m);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['vm_smb']);
    expect(lab.host.db.prepare('SELECT image, location, status FROM clonage_backups').all()).toEqual([{ image: 'vm_smb', location: 'smb', status: 'succeeded' }]);
    expect(b.serial + b.target.log).not.toContain(SMB_PASSWORD);

    fs.writeFileSync(lab.diskFile, Buffer.alloc(64 << 20));
    const r = await bootJob('restore', 'restore', {});
    expect({ code: r.code, state: r.target.state, why: r.target.state === 'succeeded' ? '' : show(r) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    expect(r.target.log).toMatch(/all files verified/);
    const d = lab.disks.attachFile(lab.diskFile, 2);
    execFileSync('e2fsck', ['-fn', d.part(1)], { stdio: 'pipe' });
    expect(lab.disks.withMount(d.part(1), 'ext4', true, (mnt) => sumFiles(mnt, Object.keys(lab.extSums)))).toEqual(lab.extSums);
    expect(lab.disks.withMount(d.part(2), 'ntfs', true, (mnt) => sumFiles(mnt, Object.keys(lab.ntfsSums)))).toEqual(lab.ntfsSums);
  }, 1500000);

  test('a wrong share password: the backup fails with the mount error, nothing written, nothing recorded', async () => {
    lab.host.settings.set('smb.password', 'not-the-password');
    const before = fs.readFileSync(lab.diskFile);
    const b = await bootJob('badpw', 'backup', { compression: 'zstd', image: 'vm_badpw' });
    expect([b.code, b.target.state]).toEqual([0, 'failed']);
    expect(b.target.message).toMatch(/SMB share \/\/[0-9.]+\/netlogon could not be mounted.*nothing written/);
    expect(fs.existsSync(path.join(smbd.shareDir, 'clonage', 'images', '02-00-00-00-00-01', 'vm_badpw'))).toBe(false);
    expect(lab.host.db.prepare("SELECT COUNT(*) AS n FROM clonage_backups WHERE image = 'vm_badpw'").get()).toEqual({ n: 0 });
    expect(fs.readFileSync(lab.diskFile).equals(before)).toBe(true);
    expect(b.serial + b.target.log).not.toContain('not-the-password');
  }, 600000);
});
