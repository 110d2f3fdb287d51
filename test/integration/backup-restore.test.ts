/**
 * Backup and restore end to end without VMs: the REAL agent (busybox sh, partclone, zstd, sfdisk,
 * busybox nc/wget) in a network namespace, against the REAL module API (actions + image store),
 * on a loop device holding REAL filesystems: ext4 (sda1) and NTFS (sda2), files written through
 * real mounts, random boot code in the MBR and the gap before sda1. Backup → wipe (zeros, kernel
 * partitions deleted) → restore → e2fsck -fn and every file identical; a corrupted piece on the
 * server and a too small target are refused before the disk is touched; retention after a backup;
 * a full server disk fails the backup cleanly.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { ImageManifest } from '../../src/images/image-types';
import { type AgentHarness, OK, okOf, startAgentHarness } from '../helpers/agent-harness';
import { netnsUnavailableReason } from '../helpers/netns';
import { type LoopDisk, LoopDisks, readBytes, sha256Of, sumFiles, writeFiles } from '../helpers/backup-loop-disks';

const TABLE = 'label: dos\n,80M,83\n,,7\n';

// Only root and `ip netns` are reasons to skip: a missing partclone, mkntfs or ntfs-3g must fail.
const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`backup/restore in namespaces SKIPPED: ${skipReason}`);

(skipReason ? describe.skip : describe)('backup and restore: real agent, real API, real filesystems', () => {
  let h: AgentHarness;
  let host: AgentHarness['host'];
  let base: string;
  let tmp: string;
  let disks: LoopDisks;
  let disk: LoopDisk;
  let devDir: string;
  let extSums: Record<string, string>;
  let ntfsSums: Record<string, string>;
  let bootCode: Buffer;
  let gap: Buffer;
  const extraMounts: string[] = [];
  const imageDir = (image: string) => path.join(host.dataDir, 'images', '02-00-00-00-00-01', image);

  beforeAll(async () => {
    h = await startAgentHarness('clonage-backup-');
    ({ host, base, tmp } = h);
    // The PC's disk: MBR boot code and the gap before sda1 hold random bytes (GRUB would be there).
    disks = new LoopDisks(tmp);
    bootCode = randomBytes(440);
    gap = randomBytes(2047 * 512);
    disk = disks.attach('pc01', 200, TABLE, (file) => {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, bootCode, 0, 440, 0);
      fs.writeSync(fd, gap, 0, gap.length, 512);
      fs.closeSync(fd);
    });
    execFileSync('mkfs.ext4', ['-q', '-L', 'linux', disk.part(1)]);
    execFileSync('mkntfs', ['-Q', '-q', '-L', 'windows', disk.part(2)], { stdio: 'ignore' });
    extSums = disks.withMount(disk.part(1), 'ext4', false, (d) => writeFiles(d, { 'big.bin': 3 << 20, 'etc/hostname': 'pc01\n', 'home/a.txt': 'bonjour\n' }));
    ntfsSums = disks.withMount(disk.part(2), 'ntfs', false, (d) => writeFiles(d, { 'Windows/big.bin': 2 << 20, 'Users/readme.txt': 'salut\n' }));
    devDir = path.join(tmp, 'dev-pc01');
    fs.mkdirSync(devDir);
    fs.symlinkSync(disk.loop, path.join(devDir, 'sda'));
    for (const n of [1, 2]) fs.symlinkSync(disk.part(n), path.join(devDir, `sda${n}`));
  }, 60000);

  afterAll(async () => {
    for (const m of extraMounts) {
      try { execFileSync('umount', ['-l', m]); } catch { /* gone */ }
    }
    disks?.cleanup();
    await h?.stop();
  });

  const runJob = (type: 'backup' | 'restore' | 'report', params: Record<string, string>, dev = devDir) => h.runJob(type, params, dev);
  const expectOk = (r: Awaited<ReturnType<typeof runJob>>) => expect(okOf(r)).toEqual(OK);
  const manifestOf = (image: string) => JSON.parse(fs.readFileSync(path.join(imageDir(image), 'manifest.json'), 'utf8')) as ImageManifest;

  test('backup: partclone of ext4 and NTFS, zstd, pieces uploaded, verified and recorded', async () => {
    const r = await runJob('backup', { disk: 'sda', compression: 'zstd', image: 'img_one' });
    expectOk(r);
    const m = manifestOf('img_one');
    expect(m.partitions.map((p) => [p.number, p.name, p.fs, p.tool, p.mode, p.compression])).toEqual([
      [1, 'sda1', 'ext4', 'partclone.extfs', 'partclone', 'zstd'], [2, 'sda2', 'ntfs', 'partclone.ntfs', 'partclone', 'zstd'],
    ]);
    expect(m.partitions[0].chunks.length).toBeGreaterThan(2); // 3 MiB of random data in 1 MiB pieces
    expect(m.partitions[0].usedBytes).toBeGreaterThan(3 << 20);
    expect(m.partitionTable.text).toMatch(/^label: dos$/m);
    expect(m.head?.bytes).toBe(2048 * 512);
    expect(m.disk).toEqual({ name: 'sda', sizeBytes: 200 << 20, sectorSize: 512 });
    expect(m.tools.partclone).toMatch(/^\d+\.\d+/);
    expect(fs.readdirSync(imageDir('img_one')).length).toBe(2 + 1 + m.partitions.reduce((n, p) => n + p.chunks.length, 0));
    expect(host.db.prepare("SELECT image, status, location FROM clonage_backups").all()).toEqual([{ image: 'img_one', status: 'succeeded', location: 'server' }]);
    expect(String(r.target.log)).toMatch(/stored on the server: image=img_one/);
  }, 300000);

  test('wipe, then restore: table, boot code, e2fsck clean, every file identical on ext4 and NTFS', async () => {
    execFileSync('dd', ['if=/dev/zero', `of=${disk.loop}`, 'bs=1M', 'count=200', 'conv=fsync'], { stdio: 'ignore' });
    execFileSync('partx', ['-d', disk.loop]); // the kernel forgets the partitions too
    expect(fs.existsSync(disk.part(1))).toBe(false);
    const r = await runJob('restore', { disk: 'sda' }); // no image: the newest
    expectOk(r);
    disks.ensurePartitions(disk, 2);
    expect(readBytes(disk.loop, 0, 440).equals(bootCode)).toBe(true);
    expect(readBytes(disk.loop, 512, gap.length).equals(gap)).toBe(true);
    expect(execFileSync('sfdisk', ['-d', disk.loop]).toString()).toMatch(/p1 : start=\s*2048, size=\s*163840, type=83\n.*p2 : start=\s*165888, size=\s*243712, type=7/s);
    execFileSync('e2fsck', ['-fn', disk.part(1)], { stdio: 'pipe' }); // throws unless clean
    expect(disks.withMount(disk.part(1), 'ext4', true, (d) => sumFiles(d, Object.keys(extSums)))).toEqual(extSums);
    expect(disks.withMount(disk.part(2), 'ntfs', true, (d) => sumFiles(d, Object.keys(ntfsSums)))).toEqual(ntfsSums);
    expect(execFileSync('blkid', ['-o', 'value', '-s', 'LABEL', disk.part(2)]).toString().trim()).toBe('windows');
  }, 300000);

  test('a corrupted piece on the server: the restore refuses before touching the disk', async () => {
    const piece = path.join(imageDir('img_one'), manifestOf('img_one').partitions[0].chunks[1].file);
    const good = fs.readFileSync(piece);
    const bad = Buffer.from(good);
    bad[100] ^= 0xff;
    fs.writeFileSync(piece, bad);
    const before = sha256Of(disk.loop);
    try {
      const r = await runJob('restore', { disk: 'sda', image: 'img_one' });
      expect(r.code).toBe(1);
      expect(r.target.state).toBe('failed');
      expect(String(r.target.message)).toMatch(/image file sda1\.pc\.zst\.001 is missing or corrupt on the server, size or SHA-256 differs, HTTP 200: nothing written/);
      expect(sha256Of(disk.loop)).toBe(before);
    } finally {
      fs.writeFileSync(piece, good);
    }
  }, 300000);

  test('a target disk smaller than the image disk is refused with the reason, untouched', async () => {
    const small = disks.attach('small', 150);
    const dir = path.join(tmp, 'dev-small');
    fs.mkdirSync(dir);
    fs.symlinkSync(small.loop, path.join(dir, 'sda'));
    fs.writeFileSync(small.loop, randomBytes(1 << 20));
    const before = sha256Of(small.loop);
    const r = await runJob('restore', { disk: 'sda' }, dir);
    expect(r.code).toBe(1);
    expect(String(r.target.message)).toMatch(/target disk sda is smaller than the disk of image img_one: 157286400 bytes, 209715200 needed: nothing written/);
    expect(sha256Of(small.loop)).toBe(before);
  }, 300000);

  test('retention keep-last-1 after a second backup: the older image goes, rows and files; reports page shows it', async () => {
    host.settings.set('backup.retention', 'keep-last-1');
    host.clock.set('2025-03-11T08:00:00Z');
    expectOk(await runJob('backup', { disk: 'sda', compression: 'lzop', image: 'img_two' }));
    expect(fs.readdirSync(path.dirname(imageDir('img_two')))).toEqual(['img_two']);
    expect(host.db.prepare('SELECT image, status, deleted_reason AS why FROM clonage_backups ORDER BY id').all()).toEqual([
      { image: 'img_one', status: 'deleted', why: 'retention keep-last-1' },
      { image: 'img_two', status: 'succeeded', why: null },
    ]);
    expect(manifestOf('img_two').partitions[1].chunks[0].file).toBe('sda2.pc.lzo.000');
    const report = await runJob('report', {});
    expect([report.code, report.target.state]).toEqual([0, 'succeeded']);
    const page = await (await fetch(`${base}/modules/clonage/reports/02-00-00-00-00-01`)).text();
    expect(page).toMatch(/data-partition="sda1"[\s\S]*data-partition="sda2"/);
    expect(page).toMatch(/data-image="img_two" data-status="succeeded"[\s\S]*sda1 ext4[\s\S]*data-image="img_one" data-status="deleted"/);
  }, 300000);

  test('server storage full during a backup: 507 to the agent, backup failed, uploads removed, nothing recorded', async () => {
    const images = path.join(host.dataDir, 'images');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', images]);
    extraMounts.push(images);
    try {
      const r = await runJob('backup', { disk: 'sda', compression: 'none', image: 'img_full' });
      expect([r.code, r.target.state]).toEqual([1, 'failed']);
      expect(String(r.target.message)).toMatch(/backup failed: sda1: upload of sda1\.pc\.\d{3} failed, HTTP 507: server storage/);
      expect(fs.readdirSync(path.join(images, '02-00-00-00-00-01'))).toEqual([]);
      expect(host.db.prepare("SELECT COUNT(*) AS n FROM clonage_backups WHERE image = 'img_full'").get()).toEqual({ n: 0 });
    } finally {
      execFileSync('umount', [images]);
      extraMounts.splice(extraMounts.indexOf(images), 1);
    }
    expect(fs.readdirSync(path.join(images, '02-00-00-00-00-01'))).toEqual(['img_two']);
  }, 300000);
});
