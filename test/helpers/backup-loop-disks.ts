/**
 * Disks for backup/restore tests: a file partitioned with sfdisk, attached with `losetup -fP`,
 * with real filesystems (mkfs.ext4, mkntfs) holding files written through real mounts (ext4,
 * ntfs-3g). Everything made is tracked so cleanup() (idempotent, failure-tolerant) can unmount,
 * detach and delete it whatever state a test left.
 */
import { execFileSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export interface LoopDisk {
  readonly file: string;
  readonly loop: string;
  part(n: number): string;
}

export class LoopDisks {
  private readonly loops: string[] = [];
  private readonly mounts: string[] = [];
  constructor(private readonly dir: string) {}

  /** A disk file of `mib` MiB with an sfdisk script applied (or none), attached with partitions. */
  attach(name: string, mib: number, sfdiskScript?: string, prepare?: (file: string) => void): LoopDisk {
    const file = path.join(this.dir, `${name}.img`);
    fs.writeFileSync(file, '');
    fs.truncateSync(file, mib << 20);
    if (sfdiskScript) execFileSync('sfdisk', ['-q', file], { input: sfdiskScript, stdio: ['pipe', 'pipe', 'pipe'] });
    prepare?.(file);
    return this.attachFile(file, sfdiskScript ? (sfdiskScript.match(/^,/gm) ?? []).length : 0);
  }

  /** An existing disk file, attached with its `partitions` partitions. */
  attachFile(file: string, partitions: number): LoopDisk {
    const loop = run('losetup', ['-fP', '--show', file]).trim();
    this.loops.push(loop);
    const disk: LoopDisk = { file, loop, part: (n) => `${loop}p${n}` };
    if (partitions) this.ensurePartitions(disk, partitions);
    return disk;
  }

  /** Some kernels ignore the partition scan of losetup -P: partx adds what is missing. */
  ensurePartitions(disk: LoopDisk, count: number): void {
    for (let i = 0; i < 50; i++) {
      if (Array.from({ length: count }, (_, k) => disk.part(k + 1)).every((p) => fs.existsSync(p))) return;
      if (i % 10 === 0) try { run('partx', ['-u', disk.loop]); } catch { /* retried */ }
      execFileSync('sleep', ['0.1']);
    }
    throw new Error(`partitions of ${disk.loop} did not appear`);
  }

  /** Mounts `dev` (ext4 or ntfs-3g), runs fn on the mount point, always unmounts. */
  withMount<T>(dev: string, type: 'ext4' | 'ntfs', readOnly: boolean, fn: (dir: string) => T): T {
    const mnt = fs.mkdtempSync(path.join(this.dir, 'mnt-'));
    if (type === 'ntfs') run('ntfs-3g', [...(readOnly ? ['-o', 'ro'] : []), dev, mnt]);
    else run('mount', ['-t', 'ext4', '-o', readOnly ? 'ro,noload' : 'rw', dev, mnt]);
    this.mounts.push(mnt);
    try {
      return fn(mnt);
    } finally {
      run('umount', [mnt]);
      this.mounts.splice(this.mounts.indexOf(mnt), 1);
      fs.rmdirSync(mnt);
    }
  }

  cleanup(): void {
    for (const mnt of this.mounts.splice(0)) {
      try { run('umount', ['-l', mnt]); } catch { /* already gone */ }
    }
    for (const loop of this.loops.splice(0)) {
      try { run('losetup', ['-d', loop]); } catch { /* already detached */ }
    }
  }
}

/** Files written into a filesystem, with their SHA-256, to compare after a restore. */
export function writeFiles(dir: string, files: Record<string, number | string>): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const [rel, content] of Object.entries(files)) {
    const data = typeof content === 'number' ? randomBytes(content) : Buffer.from(content);
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
    sums[rel] = createHash('sha256').update(data).digest('hex');
  }
  return sums;
}

export function sumFiles(dir: string, rels: string[]): Record<string, string> {
  return Object.fromEntries(rels.map((r) => [r, createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex')]));
}

export function sha256Of(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export function readBytes(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** SHA-256 of `length` bytes of `file` from `offset` (a partition of a disk file). */
export function sha256Range(file: string, offset: number, length: number): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4 << 20);
    for (let done = 0; done < length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
      if (n <= 0) throw new Error(`${file}: short read at ${offset + done}`);
      h.update(buf.subarray(0, n));
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}
