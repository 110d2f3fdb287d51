/**
 * Backup to and restore from a storage partition ON THE PC (store=partition, SE3's default):
 * the REAL agent in a network namespace against the REAL module API, on a loop device holding
 * ext4 (sda1), NTFS (sda2) and an ext4 storage partition labelled CLONAGE (sda3). The image is
 * written under sda3's /clonage/<image>/, the server records a `partition` row from the manifest
 * alone; sda1 and sda2 wiped → restore from sda3 → files identical, e2fsck clean, sda3 never
 * written; a corrupted piece and a table that would move sda3 are refused with the disk
 * unchanged; retention keep-last-1 makes the agent delete the older directory; a report lists
 * the images present on sda3.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { type AgentHarness, OK, okOf, startAgentHarness } from '../helpers/agent-harness';
import { netnsUnavailableReason } from '../helpers/netns';
import { type LoopDisk, LoopDisks, readBytes, sha256Of, sumFiles, writeFiles } from '../helpers/backup-loop-disks';

const TABLE = 'label: dos\n,70M,83\n,70M,7\n,,83\n';

const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`backup to a storage partition SKIPPED: ${skipReason}`);

(skipReason ? describe.skip : describe)('store=partition: real agent, real API, storage partition labelled CLONAGE', () => {
  let h: AgentHarness;
  let disks: LoopDisks;
  let disk: LoopDisk;
  let devDir: string;
  let extSums: Record<string, string>;
  let ntfsSums: Record<string, string>;
  let bootCode: Buffer;

  /** Runs fn on the storage partition, mounted read-only unless asked. */
  const onStore = <T>(fn: (dir: string) => T, rw = false) => disks.withMount(disk.part(3), 'ext4', !rw, (d) => fn(path.join(d, 'clonage')));
  const rows = () => h.host.db.prepare('SELECT image, location, status, deleted_reason AS why FROM clonage_backups ORDER BY id').all();

  beforeAll(async () => {
    h = await startAgentHarness('clonage-part-');
    disks = new LoopDisks(h.tmp);
    bootCode = randomBytes(440);
    disk = disks.attach('pc01', 200, TABLE, (file) => {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, bootCode, 0, 440, 0);
      fs.closeSync(fd);
    });
    execFileSync('mkfs.ext4', ['-q', '-L', 'linux', disk.part(1)]);
    execFileSync('mkntfs', ['-Q', '-q', '-L', 'windows', disk.part(2)], { stdio: 'ignore' });
    execFileSync('mkfs.ext4', ['-q', '-L', 'CLONAGE', disk.part(3)]);
    extSums = disks.withMount(disk.part(1), 'ext4', false, (d) => writeFiles(d, { 'big.bin': 3 << 20, 'etc/hostname': 'pc01\n' }));
    ntfsSums = disks.withMount(disk.part(2), 'ntfs', false, (d) => writeFiles(d, { 'Windows/big.bin': 2 << 20, 'Users/readme.txt': 'salut\n' }));
    devDir = path.join(h.tmp, 'dev-pc01');
    fs.mkdirSync(devDir);
    fs.symlinkSync(disk.loop, path.join(devDir, 'sda'));
    for (const n of [1, 2, 3]) fs.symlinkSync(disk.part(n), path.join(devDir, `sda${n}`));
  }, 60000);

  afterAll(async () => {
    disks?.cleanup();
    await h?.stop();
  });

  test('backup: the image is written on sda3 (not sda3 itself), the server records a partition row from the manifest', async () => {
    const r = await h.runJob('backup', { disk: 'sda', compression: 'zstd', image: 'img_p1', store: 'partition', storage_part: 'auto' }, devDir);
    expect(okOf(r)).toEqual(OK);
    const files = onStore((d) => ({ list: fs.readdirSync(d), img: fs.readdirSync(path.join(d, 'img_p1')).sort(), manifest: fs.readFileSync(path.join(d, 'img_p1/manifest.txt'), 'utf8') }));
    expect(files.list).toEqual(['img_p1']); // no .incoming-* left
    expect(files.img).toEqual(expect.arrayContaining(['manifest.txt', 'table.sfdisk', 'head.bin', 'sda1.pc.zst.000', 'sda2.pc.zst.000']));
    expect(files.manifest).toMatch(/^clonage-image 1\nimage img_p1\n/);
    expect(files.manifest).toMatch(/^store partition sda3$/m);
    expect(files.manifest).toMatch(/^part 3 sda3 clonage_store none none none \d+ 0$/m); // the storage partition is never backed up
    expect(files.manifest).not.toMatch(/sda3\.pc/);
    expect(rows()).toEqual([{ image: 'img_p1', location: 'partition', status: 'succeeded', why: null }]);
    const m = JSON.parse(String((h.host.db.prepare('SELECT manifest_json AS m FROM clonage_backups').get() as { m: string }).m));
    expect([m.location, m.verifiedBy, m.storagePartition]).toEqual(['partition', 'agent', 'sda3']);
    expect(fs.existsSync(path.join(h.host.dataDir, 'images', '02-00-00-00-00-01', 'img_p1'))).toBe(false);
  }, 300000);

  test('sda1 and sda2 wiped (not sda3), restore from sda3: e2fsck clean, files identical, sda3 untouched', async () => {
    for (const n of [1, 2]) execFileSync('dd', ['if=/dev/zero', `of=${disk.part(n)}`, 'bs=1M', 'count=70', 'conv=fsync'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(h.tmp, 'zeros'), Buffer.alloc(440));
    execFileSync('dd', [`if=${path.join(h.tmp, 'zeros')}`, `of=${disk.loop}`, 'bs=440', 'count=1', 'conv=notrunc,fsync'], { stdio: 'ignore' });
    const store = sha256Of(disk.part(3));
    const r = await h.runJob('restore', { disk: 'sda', store: 'partition' }, devDir); // no image: the newest on sda3
    expect(okOf(r)).toEqual(OK);
    disks.ensurePartitions(disk, 3);
    expect(readBytes(disk.loop, 0, 440).equals(bootCode)).toBe(true);
    execFileSync('e2fsck', ['-fn', disk.part(1)], { stdio: 'pipe' });
    expect(disks.withMount(disk.part(1), 'ext4', true, (d) => sumFiles(d, Object.keys(extSums)))).toEqual(extSums);
    expect(disks.withMount(disk.part(2), 'ntfs', true, (d) => sumFiles(d, Object.keys(ntfsSums)))).toEqual(ntfsSums);
    expect(sha256Of(disk.part(3))).toBe(store);
    expect(String(r.target.log)).toMatch(/sda3: the storage partition, left as it is/);
  }, 300000);

  test('a corrupted piece on sda3: refused before any write, disk unchanged', async () => {
    const piece = (d: string) => path.join(d, 'img_p1', 'sda1.pc.zst.001');
    const good = onStore((d) => fs.readFileSync(piece(d)));
    const bad = Buffer.from(good);
    bad[100] ^= 0xff;
    onStore((d) => fs.writeFileSync(piece(d), bad), true);
    const before = sha256Of(disk.loop);
    try {
      const r = await h.runJob('restore', { disk: 'sda', image: 'img_p1', store: 'partition', storage_part: 'sda3' }, devDir);
      expect([r.code, r.target.state]).toEqual([1, 'failed']);
      expect(String(r.target.message)).toMatch(/image file sda1\.pc\.zst\.001 is missing or corrupt on the storage partition sda3, size or SHA-256 differs.*nothing written/);
      expect(sha256Of(disk.loop)).toBe(before);
    } finally {
      onStore((d) => fs.writeFileSync(piece(d), good), true);
    }
  }, 300000);

  test('an image whose table would move the storage partition: refused, disk unchanged', async () => {
    // A copy of img_p1 whose table gives sda3 another size (its manifest updated to match).
    onStore((d) => {
      const src = path.join(d, 'img_p1');
      const dst = path.join(d, 'img_moved');
      fs.cpSync(src, dst, { recursive: true });
      const table = fs.readFileSync(path.join(dst, 'table.sfdisk'), 'utf8').replace(/(3 : start=\s*\d+, size=\s*)(\d+)/, (_m, a, n) => `${a}${Number(n) - 2048}`);
      expect(table).not.toBe(fs.readFileSync(path.join(src, 'table.sfdisk'), 'utf8'));
      fs.writeFileSync(path.join(dst, 'table.sfdisk'), table);
      const sha = execFileSync('sha256sum', [path.join(dst, 'table.sfdisk')]).toString().slice(0, 64);
      const manifest = fs.readFileSync(path.join(dst, 'manifest.txt'), 'utf8')
        .replace(/^image img_p1$/m, 'image img_moved').replace(/^table table\.sfdisk \d+ [0-9a-f]{64}$/m, `table table.sfdisk ${Buffer.byteLength(table)} ${sha}`);
      fs.writeFileSync(path.join(dst, 'manifest.txt'), manifest);
    }, true);
    const before = sha256Of(disk.loop);
    try {
      const r = await h.runJob('restore', { disk: 'sda', image: 'img_moved', store: 'partition' }, devDir);
      expect([r.code, r.target.state]).toEqual([1, 'failed']);
      expect(String(r.target.message)).toMatch(/the partition table of image img_moved would move or overwrite the storage partition sda3, start and size on the disk: \d+ \d+, in the image: \d+ \d+: nothing written/);
      expect(sha256Of(disk.loop)).toBe(before);
    } finally {
      onStore((d) => fs.rmSync(path.join(d, 'img_moved'), { recursive: true }), true);
    }
  }, 300000);

  test('retention keep-last-1: the agent deletes the older directory on sda3; a report lists the images there', async () => {
    h.host.settings.set('backup.retention', 'keep-last-1');
    h.host.clock.set('2025-03-11T08:00:00Z');
    const r = await h.runJob('backup', { disk: 'sda', compression: 'lzop', image: 'img_p2', store: 'partition' }, devDir);
    expect(okOf(r)).toEqual(OK);
    expect(onStore((d) => fs.readdirSync(d))).toEqual(['img_p2']);
    expect(rows()).toEqual([
      { image: 'img_p1', location: 'partition', status: 'deleted', why: 'retention keep-last-1' },
      { image: 'img_p2', location: 'partition', status: 'succeeded', why: null },
    ]);
    expect(String(r.target.log)).toMatch(/retention: removed img_p1 from the partition store/);
    // An unfinished directory shows as incomplete in the report.
    onStore((d) => fs.mkdirSync(path.join(d, 'img_half')), true);
    const report = await h.runJob('report', {}, devDir);
    expect([report.code, report.target.state]).toEqual([0, 'succeeded']);
    const page = await (await fetch(`${h.base}/modules/clonage/reports/02-00-00-00-00-01`)).text();
    expect(page).toMatch(/data-store-image="img_p2" data-complete="yes"/);
    expect(page).toMatch(/data-store-image="img_half" data-complete="no"/);
  }, 300000);

  test('a storage partition too small: the backup fails with the reason, its staging dir removed, no row', async () => {
    const small = disks.attach('pc01s', 64, 'label: dos\n,40M,83\n,,83\n');
    execFileSync('mkfs.ext4', ['-q', small.part(1)]);
    execFileSync('mkfs.ext4', ['-q', '-L', 'CLONAGE', small.part(2)]);
    disks.withMount(small.part(1), 'ext4', false, (d) => writeFiles(d, { 'random.bin': 30 << 20 })); // incompressible, > sda2
    const dev = path.join(h.tmp, 'dev-pc01s');
    fs.mkdirSync(dev);
    fs.symlinkSync(small.loop, path.join(dev, 'sda'));
    for (const n of [1, 2]) fs.symlinkSync(small.part(n), path.join(dev, `sda${n}`));
    const rowsBefore = rows();
    const r = await h.runJob('backup', { disk: 'sda', compression: 'zstd', image: 'img_big', store: 'partition' }, dev);
    expect([r.code, r.target.state]).toEqual([1, 'failed']);
    expect(String(r.target.message)).toMatch(/backup failed: sda1: writing sda1\.pc\.zst\.\d{3} to the partition store failed: .*No space left on device/);
    expect(disks.withMount(small.part(2), 'ext4', true, (d) => fs.readdirSync(path.join(d, 'clonage')))).toEqual([]);
    expect(rows()).toEqual(rowsBefore);
  }, 300000);

  test('a dirty ext4 (journal to replay): the backup is refused before anything is stored, in French, saying what to do', async () => {
    execFileSync('debugfs', ['-w', '-R', 'feature needs_recovery', disk.part(1)], { stdio: 'ignore' });
    try {
      const before = onStore((d) => fs.readdirSync(d).sort());
      const rowsBefore = rows();
      const r = await h.runJob('backup', { disk: 'sda', compression: 'zstd', image: 'img_dirty', store: 'partition' }, devDir);
      expect([r.code, r.target.state]).toEqual([1, 'failed']);
      expect(String(r.target.message)).toMatch(/^backup failed: sda1 .ext4. : systeme de fichiers non demonte proprement ou marque en erreur .journal a rejouer.\. Demarrer ce Linux et l arreter proprement, ou lancer e2fsck, puis relancer : rien n a ete ecrit$/);
      expect(onStore((d) => fs.readdirSync(d).sort())).toEqual(before);   // no image, no staging directory
      expect(rows()).toEqual(rowsBefore);
    } finally {
      execFileSync('debugfs', ['-w', '-R', 'feature -needs_recovery', disk.part(1)], { stdio: 'ignore' });
    }
  }, 300000);

  describe('an NTFS storage partition, and choosing it', () => {
    let disk2: LoopDisk;
    let dev2: string;
    let sums2: Record<string, string>;
    beforeAll(() => {
      h.host.settings.set('backup.retention', 'all');
      disk2 = disks.attach('pc01b', 120, 'label: dos\n,50M,83\n,,7\n');
      execFileSync('mkfs.ext4', ['-q', '-L', 'data', disk2.part(1)]);
      execFileSync('mkntfs', ['-Q', '-q', '-L', 'CLONAGE', disk2.part(2)], { stdio: 'ignore' });
      sums2 = disks.withMount(disk2.part(1), 'ext4', false, (d) => writeFiles(d, { 'a.bin': 1 << 20, 'b.txt': 'b\n' }));
      dev2 = path.join(h.tmp, 'dev-pc01b');
      fs.mkdirSync(dev2);
      fs.symlinkSync(disk2.loop, path.join(dev2, 'sda'));
      for (const n of [1, 2]) fs.symlinkSync(disk2.part(n), path.join(dev2, `sda${n}`));
    });

    test('backup to an NTFS partition labelled CLONAGE (ntfs-3g), sda1 wiped, restored from it; sda2 untouched', async () => {
      expect(okOf(await h.runJob('backup', { disk: 'sda', compression: 'gzip', image: 'img_ntfs', store: 'partition' }, dev2))).toEqual(OK);
      const listed = disks.withMount(disk2.part(2), 'ntfs', true, (d) => fs.readdirSync(path.join(d, 'clonage', 'img_ntfs')));
      expect(listed).toEqual(expect.arrayContaining(['manifest.txt', 'sda1.pc.gz.000']));
      execFileSync('dd', ['if=/dev/zero', `of=${disk2.part(1)}`, 'bs=1M', 'count=50', 'conv=fsync'], { stdio: 'ignore' });
      const store = sha256Of(disk2.part(2));
      expect(okOf(await h.runJob('restore', { disk: 'sda', image: 'img_ntfs', store: 'partition' }, dev2))).toEqual(OK);
      disks.ensurePartitions(disk2, 2);
      execFileSync('e2fsck', ['-fn', disk2.part(1)], { stdio: 'pipe' });
      expect(disks.withMount(disk2.part(1), 'ext4', true, (d) => sumFiles(d, Object.keys(sums2)))).toEqual(sums2);
      expect(sha256Of(disk2.part(2))).toBe(store);
    }, 300000);

    test('storage_part=auto: several partitions labelled CLONAGE are refused before anything; a named one is used', async () => {
      execFileSync('e2label', [disk2.part(1), 'CLONAGE']);
      const before = sha256Of(disk2.loop);
      const r = await h.runJob('backup', { disk: 'sda', image: 'img_x', store: 'partition' }, dev2);
      expect([r.code, r.target.state]).toEqual([1, 'failed']);
      expect(String(r.target.message)).toMatch(/2 partitions labelled CLONAGE on sda: name the storage partition: nothing written/);
      expect(sha256Of(disk2.loop)).toBe(before);
      expect(okOf(await h.runJob('restore', { disk: 'sda', image: 'img_ntfs', store: 'partition', storage_part: 'sda2' }, dev2))).toEqual(OK);
      expect(execFileSync('blkid', ['-o', 'value', '-s', 'LABEL', disk2.part(1)]).toString().trim()).toBe('data'); // sda1 restored
    }, 300000);

    test('storage_part=auto without any partition labelled CLONAGE: refused, nothing written', async () => {
      const bare = disks.attach('pc01c', 40, 'label: dos\n,,83\n');
      execFileSync('mkfs.ext4', ['-q', bare.part(1)]);
      const dev3 = path.join(h.tmp, 'dev-pc01c');
      fs.mkdirSync(dev3);
      fs.symlinkSync(bare.loop, path.join(dev3, 'sda'));
      fs.symlinkSync(bare.part(1), path.join(dev3, 'sda1'));
      const before = sha256Of(bare.loop);
      const r = await h.runJob('backup', { disk: 'sda', image: 'img_y', store: 'partition' }, dev3);
      expect([r.code, r.target.state]).toEqual([1, 'failed']);
      expect(String(r.target.message)).toMatch(/no partition labelled CLONAGE on sda, storage_part=auto: nothing written/);
      expect(sha256Of(bare.loop)).toBe(before);
    }, 300000);
  });
});
