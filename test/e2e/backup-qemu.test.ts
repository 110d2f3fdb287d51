/**
 * Backup and restore in QEMU (TCG) with the boot environment built from this tree
 * (pxe/build-bootenv.sh): the real kernel, initramfs, busybox and agent against the module's real
 * API (actions + image store, reached through a relay in the bridge namespace, dnsmasq for
 * DHCP). The VM's virtio disk holds ext4 + NTFS with files; backup → disk zeroed → restore in a
 * second boot → e2fsck clean and every file identical. Unlike backup-restore.test.ts this runs
 * the kernel's own partition re-read (no partx in the initramfs) and the initramfs's tools.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { ImageManifest } from '../../src/images/image-types';
import { sumFiles, writeFiles } from '../helpers/backup-loop-disks';
import { qemuLabUnavailableReason, type QemuAgentLab, startQemuAgentLab } from '../helpers/qemu-agent-lab';

const skip = qemuLabUnavailableReason();
if (skip) console.warn(`backup/restore in QEMU SKIPPED: ${skip}`);

(skip ? describe.skip : describe)('backup and restore in QEMU with the built boot environment', () => {
  let lab: QemuAgentLab;

  beforeAll(async () => {
    lab = await startQemuAgentLab('clonage-bq-');
  }, 900000);

  afterAll(() => lab?.stop());

  test('backup from the VM, zero the disk, restore in a second boot: files identical', async () => {
    const b = await lab.bootJob('backup', 'backup', { compression: 'zstd', image: 'vm_image' });
    expect({ code: b.code, state: b.target.state, why: b.target.state === 'succeeded' ? '' : lab.show(b) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    const dir = path.join(lab.host.dataDir, 'images', '02-00-00-00-00-01', 'vm_image');
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
    expect(m.partitions.map((p) => [p.name, p.fs, p.tool])).toEqual([['vda1', 'ext4', 'partclone.extfs'], ['vda2', 'ntfs', 'partclone.ntfs']]);

    fs.writeFileSync(lab.diskFile, Buffer.alloc(64 << 20));
    const r = await lab.bootJob('restore', 'restore', {});
    expect({ code: r.code, state: r.target.state, why: r.target.state === 'succeeded' ? '' : lab.show(r) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    expect(r.target.log).toMatch(/all files verified/);
    const d = lab.disks.attachFile(lab.diskFile, 2);
    execFileSync('e2fsck', ['-fn', d.part(1)], { stdio: 'pipe' }); // throws unless clean
    expect(lab.disks.withMount(d.part(1), 'ext4', true, (mnt) => sumFiles(mnt, Object.keys(lab.extSums)))).toEqual(lab.extSums);
    expect(lab.disks.withMount(d.part(2), 'ntfs', true, (mnt) => sumFiles(mnt, Object.keys(lab.ntfsSums)))).toEqual(lab.ntfsSums);
  }, 1500000);

  test('store=partition in the VM: image on vda3 (label CLONAGE), vda1/vda2 zeroed, restored from vda3 with the kernel re-read', async () => {
    const d = lab.disks.attach('vmp', 64, 'label: dos\n,20M,83\n,20M,7\n,,83\n');
    execFileSync('mkfs.ext4', ['-q', d.part(1)]);
    execFileSync('mkntfs', ['-Q', '-q', d.part(2)], { stdio: 'ignore' });
    execFileSync('mkfs.ext4', ['-q', '-L', 'CLONAGE', d.part(3)]);
    const ext = lab.disks.withMount(d.part(1), 'ext4', false, (m) => writeFiles(m, { 'big.bin': 2 << 20, 'etc/hostname': 'pc01\n' }));
    const ntfs = lab.disks.withMount(d.part(2), 'ntfs', false, (m) => writeFiles(m, { 'readme.txt': 'salut\n' }));
    lab.disks.cleanup();
    const b = await lab.bootJob('pbackup', 'backup', { compression: 'zstd', image: 'vm_part', store: 'partition' }, d.file);
    expect({ code: b.code, state: b.target.state, why: b.target.state === 'succeeded' ? '' : lab.show(b) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    const store = () => fs.readFileSync(d.file).subarray(41 << 20);
    const storeBefore = store();
    const fd = fs.openSync(d.file, 'r+');
    fs.writeSync(fd, Buffer.alloc(40 << 20), 0, 40 << 20, 1 << 20); // vda1 and vda2, not the table nor vda3
    fs.closeSync(fd);
    const r = await lab.bootJob('prestore', 'restore', { store: 'partition' }, d.file);
    expect({ code: r.code, state: r.target.state, why: r.target.state === 'succeeded' ? '' : lab.show(r) }).toEqual({ code: 0, state: 'succeeded', why: '' });
    expect(r.target.log).toMatch(/vda3: the storage partition, left as it is/);
    expect(store().equals(storeBefore)).toBe(true);
    const a = lab.disks.attachFile(d.file, 3);
    execFileSync('e2fsck', ['-fn', a.part(1)], { stdio: 'pipe' });
    expect(lab.disks.withMount(a.part(1), 'ext4', true, (mnt) => sumFiles(mnt, Object.keys(ext)))).toEqual(ext);
    expect(lab.disks.withMount(a.part(2), 'ntfs', true, (mnt) => sumFiles(mnt, Object.keys(ntfs)))).toEqual(ntfs);
    expect(lab.disks.withMount(a.part(3), 'ext4', true, (mnt) => fs.readdirSync(path.join(mnt, 'clonage')))).toEqual(['vm_part']);
  }, 1500000);
});
