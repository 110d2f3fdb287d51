/**
 * Backup and restore end to end (issue #5 acceptance) with a QEMU PC (TCG) in this run's network
 * namespace: real dnsmasq with the DHCP module's generated config, our TFTP server and boot plans,
 * the real boot environment and its agent. Everything an admin does goes through the admin pages
 * (login form, CSRF, the wizard's steps 1 → 4 and their forms); the test reads the database only
 * to wait for states and plans, as pxe-clone.test.ts does.
 *
 * Per case: a small virtio disk made on the host (sfdisk, mkfs.ext4, mkntfs, files written through
 * ext4 / ntfs-3g mounts) → backup scheduled through the wizard → the PC PXE-boots, backs up,
 * powers off → action succeeded, the reports pages list the image and its partitions → the disk is
 * wiped (QEMU stopped) → restore through the wizard → PC PXE-boots, restores, powers off → on the
 * host: the partition table and the sectors before the first partition identical, e2fsck -fn
 * clean, every file's SHA-256 identical on ext4 and NTFS → the plan was consumed: the PC's next
 * PXE boot is the local disk (chain.c32, no kernel).
 *
 * Cases (CASES): `server` (the module's image store) and `partition` (store=partition,
 * storage_part=auto: a third ext4 partition labelled CLONAGE on the PC's disk). For the partition
 * case the server holds only the row (location 'partition', no image files), the image directory
 * `/clonage/<image>/` with its line manifest is checked on the storage partition mounted read-only
 * on the host, the wipe spares the table and the storage partition, and the storage partition's
 * bytes are hashed before and after the restore (it is never written).
 *
 * Run alone: `bash scripts/e2e.sh test/e2e/backup` (root). Artifacts: test-artifacts/e2e-backup/.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Mac } from '../../src/common/domain/mac';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import type { ImageManifest } from '../../src/images/image-types';
import type { PageClient } from '../helpers/browserless-client';
import { loggedIn, type TestShell } from '../helpers/test-shell';
import { LoopDisks, readBytes, sha256Range, sumFiles, writeFiles } from '../helpers/backup-loop-disks';
import { Lab, startLabShell, tftpSent, waitFor, type Vm, writeShellArtifacts } from './lib/lab';
import { scheduleThroughWizard } from './lib/wizard';

const WORK = path.resolve(__dirname, '..', '..', 'test-artifacts', 'e2e-backup');
const BASE = '/modules/clonage';
const PARC = 'salle101';
const MIB = 1 << 20;

interface Filesystem {
  readonly part: number;
  readonly fs: 'ext4' | 'ntfs';
  readonly files: Record<string, number | string>;
}

/**
 * One backup target: `server` (the module's image store) and `partition` (the storage partition
 * labelled CLONAGE on the PC's own disk). Each case has its own PC, disk layout, wizard fields, a
 * wipe (the partition case spares the storage partition) and where the image is found afterwards.
 */
interface TargetCase {
  /** The target's name (SE3 type_dest_part), also the test's title. */
  readonly target: string;
  /** A PC of the bundled directory (test/fixtures/se3.ldif), in parc salle101, with a DHCP reservation. */
  readonly pc: { readonly name: string; readonly mac: string };
  readonly diskMiB: number;
  /** sfdisk script of the PC's disk (DOS label: the sectors before the first partition are compared too). */
  readonly table: string;
  readonly filesystems: readonly Filesystem[];
  /** The storage partition (ext4 labelled CLONAGE): never backed up, never written by the restore. */
  readonly storagePart?: number;
  /** Wizard fields of the backup, over the form's defaults (step 3 as the admin fills it). */
  readonly backupFields: Record<string, string>;
  readonly restoreFields: Record<string, string>;
  readonly image: string;
  /** What the reports pages print as the image's location. */
  readonly locationLabel: string;
  /** Wipes what the restore must bring back; QEMU is stopped. */
  wipe(diskFile: string): void;
  /** The stored image as the backup left it (server: the manifest in the image store); QEMU is stopped. */
  storedManifest(ctx: { readonly shell: TestShell; readonly diskFile: string; readonly disks: LoopDisks; readonly c: TargetCase }): ImageManifest;
}

const imageDirOnServer = (shell: TestShell, c: TargetCase) =>
  path.join(shell.dataDir, 'modules', 'clonage', 'images', c.pc.mac.replace(/:/g, '-'), c.image);

/** Number of partitions of an sfdisk script (lines starting with a comma). */
const partitionCount = (table: string) => (table.match(/^,/gm) ?? []).length;

/** Start and size in bytes of partition `n` of a disk file (sfdisk -d). */
function partitionExtent(diskFile: string, n: number): { start: number; size: number } {
  const dump = execFileSync('sfdisk', ['-d', diskFile], { encoding: 'utf8' });
  const line = dump.split('\n').find((l) => new RegExp(`^\\S*?${n}\\s*:`).test(l));
  const m = line && /start=\s*(\d+),\s*size=\s*(\d+)/.exec(line);
  if (!m) throw new Error(`no partition ${n} in ${diskFile}:\n${dump}`);
  return { start: Number(m[1]) * 512, size: Number(m[2]) * 512 };
}

/** The line manifest's records, and the files it lists as [name, bytes, sha256]. */
function lineManifestFiles(text: string): [string, number, string][] {
  const out: [string, number, string][] = [];
  for (const l of text.split('\n')) {
    const w = l.split(' ');
    if (w[0] === 'table' || w[0] === 'head') out.push([w[1], Number(w[2]), w[3]]);
    else if (w[0] === 'chunk') out.push([w[2], Number(w[3]), w[4]]);
  }
  return out;
}

const CASES: readonly TargetCase[] = [
  {
    target: 'server',
    pc: { name: 's101-pc01', mac: '52:54:00:12:00:0b' },
    diskMiB: 64,
    table: 'label: dos\n,24M,83\n,,7\n',
    filesystems: [
      { part: 1, fs: 'ext4', files: { 'big.bin': 3 * MIB, 'etc/hostname': 's101-pc01\n', 'home/eleve/notes.txt': 'contrôle de maths\n', 'empty': '' } },
      { part: 2, fs: 'ntfs', files: { 'Windows/big.bin': 2 * MIB, 'readme.txt': 'salut\r\n', 'Users/Élève/Documents/devoir.txt': 'à rendre lundi\r\n' } },
    ],
    // no store field: the wizard's default, module.json backup.target = server
    backupFields: { disk: 'vda', compression: 'zstd', image: 'e2e_server', auto_reboot: 'always' },
    restoreFields: { disk: 'vda', image: 'e2e_server', auto_reboot: 'always' },
    image: 'e2e_server',
    locationLabel: 'serveur',
    wipe: (file) => {
      // the whole disk: table, boot code, gap and both partitions
      const size = fs.statSync(file).size;
      fs.writeFileSync(file, Buffer.alloc(size));
    },
    storedManifest: ({ shell, c }) => {
      const dir = path.join(shell.dataDir, 'modules', 'clonage', 'images', c.pc.mac.replace(/:/g, '-'), c.image);
      return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
    },
  },
  {
    target: 'partition',
    pc: { name: 's101-pc02', mac: '52:54:00:12:00:0c' },
    diskMiB: 80,
    table: 'label: dos\n,24M,83\n,24M,7\n,,83\n',
    filesystems: [
      { part: 1, fs: 'ext4', files: { 'big.bin': 3 * MIB, 'etc/hostname': 's101-pc02\n', 'home/eleve/notes.txt': 'contrôle de physique\n', 'empty': '' } },
      { part: 2, fs: 'ntfs', files: { 'Windows/big.bin': 2 * MIB, 'readme.txt': 'salut\r\n', 'Users/Élève/Documents/devoir.txt': 'à rendre mardi\r\n' } },
    ],
    storagePart: 3,
    backupFields: { disk: 'vda', compression: 'zstd', image: 'e2e_partition', store: 'partition', storage_part: 'auto', auto_reboot: 'always' },
    restoreFields: { disk: 'vda', image: 'e2e_partition', store: 'partition', storage_part: 'auto', auto_reboot: 'always' },
    image: 'e2e_partition',
    locationLabel: 'partition locale',
    wipe: (file) => {
      // boot code and disk signature, the CHS fields of the MBR's table entries, the gap after the
      // MBR, partitions 1 and 2. The entries' type and LBA start/size stay (the storage partition
      // must still be found); the storage partition is never touched.
      const gapEnd = partitionExtent(file, 1).start;
      const fd = fs.openSync(file, 'r+');
      try {
        fs.writeSync(fd, Buffer.alloc(446), 0, 446, 0);
        for (let e = 0; e < 4; e++) {
          fs.writeSync(fd, Buffer.alloc(3), 0, 3, 446 + 16 * e + 1); // CHS of the first sector
          fs.writeSync(fd, Buffer.alloc(3), 0, 3, 446 + 16 * e + 5); // CHS of the last sector
        }
        fs.writeSync(fd, Buffer.alloc(gapEnd - 512), 0, gapEnd - 512, 512);
        for (const n of [1, 2]) {
          const { start, size } = partitionExtent(file, n);
          fs.writeSync(fd, Buffer.alloc(size), 0, size, start);
        }
      } finally {
        fs.closeSync(fd);
      }
    },
    storedManifest: ({ shell, diskFile, disks, c }) => {
      // the server recorded the manifest only: a row location=partition, no image files
      const rows = shell.db.prepare('SELECT location, status, manifest_json FROM clonage_backups WHERE mac = ? AND image = ?').all(c.pc.mac, c.image) as {
        location: string; status: string; manifest_json: string;
      }[];
      expect(rows.map((r) => [r.location, r.status])).toEqual([['partition', 'succeeded']]);
      expect(fs.existsSync(imageDirOnServer(shell, c))).toBe(false);
      const m = JSON.parse(rows[0].manifest_json) as ImageManifest & { location?: string; verifiedBy?: string; storagePartition?: string };
      expect([m.location, m.verifiedBy, m.storagePartition]).toEqual(['partition', 'agent', `vda${c.storagePart}`]);
      // the image directory on the storage partition, mounted read-only on the host
      const d = disks.attachFile(diskFile, partitionCount(c.table));
      try {
        disks.withMount(d.part(c.storagePart!), 'ext4', true, (mnt) => {
          const dir = path.join(mnt, 'clonage', c.image);
          const text = fs.readFileSync(path.join(dir, 'manifest.txt'), 'utf8');
          fs.writeFileSync(path.join(WORK, `${c.pc.name}.${c.image}.manifest.txt`), text);
          expect(text.split('\n')[0]).toBe('clonage-image 1');
          expect(text).toMatch(new RegExp(`^store partition vda${c.storagePart}$`, 'm'));
          expect(text).toMatch(new RegExp(`^part ${c.storagePart} vda${c.storagePart} clonage_store `, 'm'));
          const listed = lineManifestFiles(text);
          expect(listed.length).toBeGreaterThan(2);
          const found = listed.map(([f]) => {
            const data = fs.readFileSync(path.join(dir, f));
            return [f, data.length, createHash('sha256').update(data).digest('hex')];
          });
          expect(found).toEqual(listed);
          // nothing left behind: only the image directory in /clonage
          expect(fs.readdirSync(path.join(mnt, 'clonage'))).toEqual([c.image]);
        });
      } finally {
        disks.cleanup();
      }
      return m;
    },
  },
];

describe('backup and restore of a QEMU PC from the admin pages, PXE-booted', () => {
  let lab: Lab;
  let shell: TestShell;
  let plans: BootPlanStore;
  let admin: PageClient;
  const disks = new LoopDisks(WORK);

  beforeAll(async () => {
    const bootenv = process.env.CLONAGE_BOOTENV;
    if (!bootenv) throw new Error('CLONAGE_BOOTENV: build it with pxe/build-bootenv.sh (scripts/e2e.sh does)');
    fs.rmSync(WORK, { recursive: true, force: true });
    lab = Lab.create(WORK);
    shell = await startLabShell(bootenv);
    plans = new BootPlanStore(shell.db, { now: () => new Date() });
    await lab.startDnsmasq(shell.dhcp.api.configPath);
    admin = await loggedIn({ url: shell.url.replace('0.0.0.0', '127.0.0.1') }, 'admin');
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    disks.cleanup();
    if (shell) {
      writeShellArtifacts(shell, WORK);
    }
    if (lab) fs.writeFileSync(path.join(WORK, 'dnsmasq.copy.log'), lab.dnsmasqLog());
    await shell?.stopAndClean();
  });

  describe.each(CASES.map((c) => [c.target, c] as const))('target %s', (_target, c) => {
    const diskFile = path.join(WORK, `${c.pc.name}.img`);
    const mac = Mac.parse(c.pc.mac);
    let vm: Vm;
    const sums: Record<number, Record<string, string>> = {};
    let tableBefore: string;
    let headBefore: Buffer;
    let firstPartitionOffset: number;
    let backedUp = false;

    const state = (id: string) => (shell.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(id) as { state: string }).state;
    const targetsOf = (id: string) =>
      shell.db.prepare('SELECT name, role, state, message, log FROM clonage_targets WHERE action_id = ?').all(id) as {
        name: string; role: string; state: string; message: string | null; log: string | null;
      }[];
    const why = (id: string) => `${targetsOf(id).map((t) => `${t.name} ${t.state}: ${t.message ?? ''}\n${(t.log ?? '').slice(-3000)}`).join('\n')}\n--- console\n${vm.serial().slice(-3000)}`;
    const sfdiskDump = () => execFileSync('sfdisk', ['-d', diskFile], { encoding: 'utf8' });

    /** Schedules through the wizard, boots the PC when its plan is armed, waits for the end and the power-off. */
    async function runAction(type: 'backup' | 'restore', fields: Record<string, string>): Promise<string> {
      const actionPath = await scheduleThroughWizard(admin, type, PARC, c.pc.name, fields);
      const id = actionPath.split('/').pop()!;
      await waitFor(`the ${type} plan of ${c.pc.name} armed`, () => plans.listArmed().some((p) => p.mac.toString() === mac.toString()), 60_000);
      vm.start();
      await waitFor(`the ${type} action to finish`, () => ['succeeded', 'failed', 'cancelled'].includes(state(id)), 1_200_000, 1000);
      expect({ state: state(id), why: state(id) === 'succeeded' ? '' : why(id) }).toEqual({ state: 'succeeded', why: '' });
      expect(targetsOf(id).map((t) => [t.name, t.role, t.state])).toEqual([[c.pc.name, type, 'succeeded']]);
      // auto_reboot=always: the agent reboots, QEMU (-no-reboot) exits
      await vm.waitExit(180_000);
      expect(vm.serial()).toMatch(/clonage\.job=j_[A-Za-z0-9_-]+/);
      // the plan was consumed when the agent fetched its job: the next boot is not this job again
      expect(plans.listArmed()).toEqual([]);
      expect(plans.planFor(mac).kind).not.toBe('job');
      const page = await admin.get(actionPath);
      expect([page.status, page.text]).toEqual([200, expect.stringContaining('data-state="succeeded"')]);
      return id;
    }

    beforeAll(() => {
      // The PC's disk: table, random boot code and post-MBR gap, real filesystems with files.
      const d = disks.attach(c.pc.name, c.diskMiB, c.table);
      for (const f of c.filesystems) {
        if (f.fs === 'ext4') execFileSync('mkfs.ext4', ['-q', '-F', d.part(f.part)], { stdio: 'pipe' });
        else execFileSync('mkntfs', ['-Q', '-q', d.part(f.part)], { stdio: 'pipe' });
        sums[f.part] = disks.withMount(d.part(f.part), f.fs, false, (m) => writeFiles(m, f.files));
      }
      if (c.storagePart) execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'CLONAGE', d.part(c.storagePart)], { stdio: 'pipe' });
      disks.cleanup();
      firstPartitionOffset = Math.min(...[...sfdiskDump().matchAll(/start=\s*(\d+)/g)].map((x) => Number(x[1]))) * 512;
      const fd = fs.openSync(diskFile, 'r+');
      fs.writeSync(fd, randomBytes(440), 0, 440, 0);
      fs.writeSync(fd, randomBytes(firstPartitionOffset - 512), 0, firstPartitionOffset - 512, 512);
      fs.closeSync(fd);
      tableBefore = sfdiskDump();
      headBefore = readBytes(diskFile, 0, firstPartitionOffset);
      vm = lab.addVm(c.pc.mac, diskFile, 512);
    }, 120_000);

    test('backup scheduled through the wizard: the PC PXE-boots, backs up; the reports pages list the image and its partitions', async () => {
      await runAction('backup', c.backupFields);

      const m = c.storedManifest({ shell, diskFile, disks, c });
      fs.writeFileSync(path.join(WORK, `${c.pc.name}.${c.image}.manifest.json`), JSON.stringify(m, null, 2));
      expect({ image: m.image, mac: m.mac, disk: m.disk.name, sizeBytes: m.disk.sizeBytes }).toEqual({ image: c.image, mac: c.pc.mac, disk: 'vda', sizeBytes: c.diskMiB * MIB });
      const parts: [string, string][] = c.filesystems.map((f) => [`vda${f.part}`, f.fs]);
      if (c.storagePart) parts.push([`vda${c.storagePart}`, 'clonage_store']);
      expect(m.partitions.map((p) => [p.name, p.fs])).toEqual(parts);

      const reports = await admin.get(`${BASE}/reports`);
      expect(reports.status).toBe(200);
      const row = new RegExp(`<tr><td><a href="reports/${c.pc.mac.replace(/:/g, '-')}">${c.pc.name}</a></td><td>${c.image}</td><td>${c.locationLabel}</td>`);
      expect(reports.text).toMatch(row);
      const machine = await admin.get(`${BASE}/reports/${c.pc.mac.replace(/:/g, '-')}`);
      expect(machine.status).toBe(200);
      const backupRow = new RegExp(`<tr data-image="${c.image}" data-status="succeeded">[\\s\\S]*?</tr>`).exec(machine.text)?.[0] ?? '';
      expect(backupRow).toContain(`<td>${c.locationLabel}</td>`);
      for (const f of c.filesystems) expect(backupRow).toMatch(new RegExp(`vda${f.part} ${f.fs} \\(`));
      backedUp = true;
    }, 1_500_000);

    test('restore scheduled through the wizard onto the wiped disk: table, boot sectors and every file identical, then local boot', async () => {
      if (!backedUp) throw new Error('no backup to restore: the backup test failed');
      expect(vm.running).toBe(false);
      c.wipe(diskFile);
      expect(readBytes(diskFile, 0, firstPartitionOffset).equals(headBefore)).toBe(false);
      const storage = c.storagePart ? partitionExtent(diskFile, c.storagePart) : undefined;
      const storageBefore = storage && sha256Range(diskFile, storage.start, storage.size);

      const id = await runAction('restore', c.restoreFields);
      expect(targetsOf(id)[0].log).toMatch(/all files verified/);

      // on the host, QEMU stopped
      expect(sfdiskDump()).toBe(tableBefore);
      if (storage) expect({ storagePartition: sha256Range(diskFile, storage.start, storage.size) }).toEqual({ storagePartition: storageBefore });
      // Byte for byte, the MBR's table entries included: sfdisk recomputes their CHS fields from
      // the geometry it sees (255/63 for the host's file, the virtio disk's own in the PC), and the
      // agent writes the image's MBR bytes back over them.
      const head = readBytes(diskFile, 0, firstPartitionOffset);
      const expected = headBefore;
      const firstDiff = head.findIndex((b, i) => b !== expected[i]);
      expect({ firstDifferentByte: firstDiff }).toEqual({ firstDifferentByte: -1 });
      const d = disks.attachFile(diskFile, partitionCount(c.table));
      try {
        for (const f of c.filesystems) {
          if (f.fs === 'ext4') execFileSync('e2fsck', ['-fn', d.part(f.part)], { stdio: 'pipe' }); // throws unless clean
          const got = disks.withMount(d.part(f.part), f.fs, true, (mnt) => sumFiles(mnt, Object.keys(sums[f.part])));
          expect({ part: f.part, sums: got }).toEqual({ part: f.part, sums: sums[f.part] });
        }
      } finally {
        disks.cleanup();
      }

      // the next PXE boot of the PC is its local disk: the menu's cfg, then chain.c32, no kernel
      const from = shell.logLines.length;
      vm.start();
      const cfg = `pxelinux.cfg/${mac.pxelinuxName()}`;
      await waitFor(`${c.pc.name} to PXE-boot again`, () => tftpSent(shell.logLines.slice(from), cfg), 120_000);
      await waitFor('chain.c32 (local boot)', () => tftpSent(shell.logLines.slice(from), 'chain.c32'), 90_000);
      expect(tftpSent(shell.logLines.slice(from), 'toolkits/clonage/vmlinuz')).toBe(false);
      await vm.kill();
    }, 1_500_000);
  });
});
