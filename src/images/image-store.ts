/**
 * Files of the server image store. Layout (docs/backup-restore.md):
 *   <root>/<mac-with-dashes>/<image>/manifest.json + files     a committed image
 *   <root>/<mac-with-dashes>/.incoming-<job>/                  uploads of a running backup
 *   <root>/<mac-with-dashes>/.trash-*                          being deleted
 * An upload is written to a temp name, fsynced, hashed on the way, then renamed: a file with its
 * final name is always complete and matched the agent's X-Sha256. Write errors (disk full…) become
 * ImageStorageError and the temp file is removed. Names reaching paths passed image-names.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../common/domain/errors';
import { isJobId } from '../agent/job-identity';
import { assertFileName, assertImageName, macDirName } from './image-names';
import { type ImageFile, ImageIntegrityError, type ImageManifest, ImageStorageError, ImageTooLargeError, MAX_UPLOAD_BYTES } from './image-types';

/** The part of a FileHandle an upload uses (tests inject failing writes). */
export interface WritableFile {
  write(data: Uint8Array): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface ImageStoreOptions {
  readonly root: string;
  /** Free space kept on the server's disk: an upload that would eat into it is refused (507). */
  readonly reserveBytes?: number;
  readonly maxUploadBytes?: number;
  readonly openForWrite?: (path: string) => Promise<WritableFile>;
}

const STORAGE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO', 'EROFS', 'ENOMEM']);

function storageError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code && STORAGE_CODES.has(code)) return new ImageStorageError(`server storage error (${code}): ${(err as Error).message.slice(0, 120)}`);
  return err;
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export interface Promotion {
  /** Removes the image it replaced, if any. */
  finish(): Promise<void>;
  /** Puts things back as they were (the database refused the record). */
  undo(): Promise<void>;
}

export class ImageStore {
  readonly root: string;
  private readonly reserve: number;
  private readonly maxUpload: number;
  private readonly openForWrite: (path: string) => Promise<WritableFile>;

  constructor(opts: ImageStoreOptions) {
    this.root = opts.root;
    this.reserve = opts.reserveBytes ?? 512 << 20;
    this.maxUpload = opts.maxUploadBytes ?? MAX_UPLOAD_BYTES;
    this.openForWrite = opts.openForWrite ?? ((p) => fsp.open(p, 'wx'));
  }

  /** Free space kept on the server's disk (the readiness checklist compares with it). */
  get reserveBytes(): number {
    return this.reserve;
  }

  machineDir(mac: string): string {
    return join(this.root, macDirName(mac));
  }

  imageDir(mac: string, image: string): string {
    return join(this.machineDir(mac), assertImageName(image));
  }

  stagingDir(mac: string, jobId: string): string {
    if (!isJobId(jobId)) throw new NotFoundError('unknown job');
    return join(this.machineDir(mac), `.incoming-${jobId}`);
  }

  /**
   * Streams an upload into the job's staging directory. Refused before reading when the declared
   * length is too big or would leave less than the reserve free; the SHA-256 computed on the way
   * must equal `expectedSha256`.
   */
  async writeUpload(mac: string, jobId: string, name: string, body: AsyncIterable<Buffer | string>,
    opts: { expectedSha256: string; declaredBytes?: number; maxBytes?: number }): Promise<ImageFile> {
    assertFileName(name);
    const max = Math.min(opts.maxBytes ?? this.maxUpload, this.maxUpload);
    if (opts.declaredBytes !== undefined && opts.declaredBytes > max) throw new ImageTooLargeError(`${name}: ${opts.declaredBytes} bytes, at most ${max}`);
    const dir = this.stagingDir(mac, jobId);
    await fsp.mkdir(dir, { recursive: true });
    await this.assertRoom(dir, opts.declaredBytes ?? 0);
    const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    let bytes = 0;
    let handle: WritableFile | null = null;
    try {
      handle = await this.openForWrite(tmp);
      for await (const piece of body) {
        const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
        bytes += buf.length;
        if (bytes > max) throw new ImageTooLargeError(`${name}: more than ${max} bytes`);
        hash.update(buf);
        await handle.write(buf);
      }
      await handle.sync();
      await handle.close();
      handle = null;
      const sha256 = hash.digest('hex');
      if (opts.declaredBytes !== undefined && bytes !== opts.declaredBytes) {
        throw new ImageIntegrityError(`${name}: received ${bytes} bytes, ${opts.declaredBytes} announced`);
      }
      if (sha256 !== opts.expectedSha256) throw new ImageIntegrityError(`${name}: SHA-256 ${sha256} differs from the announced ${opts.expectedSha256}`);
      await fsp.rename(tmp, join(dir, name));
      return { file: name, bytes, sha256 };
    } catch (err) {
      if (handle) await handle.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw storageError(err);
    }
  }

  private async assertRoom(dir: string, bytes: number): Promise<void> {
    const s = await fsp.statfs(dir);
    const free = Number(s.bavail) * Number(s.bsize);
    if (free - bytes < this.reserve) {
      throw new ImageStorageError(`server storage full: ${free} bytes free, ${bytes} asked, ${this.reserve} kept in reserve`);
    }
  }

  /** Re-reads every file and checks size and SHA-256 (the bytes on the server's disk, not the upload's word). */
  async verify(dir: string, files: readonly ImageFile[]): Promise<void> {
    for (const f of files) {
      const path = join(dir, assertFileName(f.file));
      const st = await fsp.stat(path).catch(() => null);
      if (!st?.isFile()) throw new ImageIntegrityError(`${f.file}: missing on the server`);
      if (st.size !== f.bytes) throw new ImageIntegrityError(`${f.file}: ${st.size} bytes on the server, ${f.bytes} listed`);
      const hash = createHash('sha256');
      for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
      const sha = hash.digest('hex');
      if (sha !== f.sha256) throw new ImageIntegrityError(`${f.file}: SHA-256 on the server ${sha} differs from the listed ${f.sha256}`);
    }
  }

  async readText(dir: string, name: string, maxBytes: number): Promise<string> {
    const path = join(dir, assertFileName(name));
    const st = await fsp.stat(path).catch(() => null);
    if (!st?.isFile()) throw new ImageIntegrityError(`${name}: missing on the server`);
    if (st.size > maxBytes) throw new ImageTooLargeError(`${name}: more than ${maxBytes} bytes`);
    return fsp.readFile(path, 'utf8');
  }

  /**
   * Makes the staged upload the image `manifest.image`: writes manifest.json, drops files the
   * manifest does not list (retries, leftovers), moves a same-named image aside and renames.
   */
  async promote(mac: string, jobId: string, manifest: ImageManifest, listed: readonly ImageFile[]): Promise<Promotion> {
    const staging = this.stagingDir(mac, jobId);
    const target = this.imageDir(mac, manifest.image);
    const keep = new Set([...listed.map((f) => f.file), 'manifest.json']);
    for (const name of await fsp.readdir(staging)) if (!keep.has(name)) await fsp.rm(join(staging, name), { force: true, recursive: true });
    try {
      const tmp = join(staging, '.manifest.json.tmp');
      await fsp.writeFile(tmp, `${JSON.stringify(manifest, null, 1)}\n`, { flag: 'w' });
      const h = await fsp.open(tmp, 'r+');
      await h.sync();
      await h.close();
      await fsp.rename(tmp, join(staging, 'manifest.json'));
    } catch (err) {
      throw storageError(err);
    }
    let trash: string | null = null;
    if (await fsp.stat(target).catch(() => null)) {
      trash = join(this.machineDir(mac), `.trash-${manifest.image}-${randomBytes(4).toString('hex')}`);
      await fsp.rename(target, trash);
    }
    await fsp.rename(staging, target);
    await fsyncDir(this.machineDir(mac)).catch(() => undefined);
    return {
      finish: async () => {
        if (trash) await fsp.rm(trash, { recursive: true, force: true });
      },
      undo: async () => {
        await fsp.rename(target, staging).catch(() => undefined);
        if (trash) await fsp.rename(trash, target).catch(() => undefined);
      },
    };
  }

  async readManifest(mac: string, image: string): Promise<ImageManifest> {
    const path = join(this.imageDir(mac, image), 'manifest.json');
    const text = await fsp.readFile(path, 'utf8').catch(() => null);
    if (text === null) throw new NotFoundError(`image ${image}: no manifest on the server`);
    return JSON.parse(text) as ImageManifest;
  }

  /** A stream of one file of a committed image, with its size. */
  async openRead(mac: string, image: string, name: string): Promise<{ stream: ReadStream; bytes: number }> {
    const path = join(this.imageDir(mac, image), assertFileName(name));
    const st = await fsp.stat(path).catch(() => null);
    if (!st?.isFile()) throw new NotFoundError(`${name}: not in image ${image}`);
    return { stream: createReadStream(path), bytes: st.size };
  }

  /** Deletes an image directory (moved aside first, so a half-deleted image never keeps its name). */
  async remove(mac: string, image: string): Promise<void> {
    const dir = this.imageDir(mac, image);
    if (!(await fsp.stat(dir).catch(() => null))) return;
    const trash = join(this.machineDir(mac), `.trash-${image}-${randomBytes(4).toString('hex')}`);
    await fsp.rename(dir, trash);
    await fsp.rm(trash, { recursive: true, force: true });
  }

  async discardStaging(mac: string, jobId: string): Promise<void> {
    await fsp.rm(this.stagingDir(mac, jobId), { recursive: true, force: true });
  }

  /** Removes staging dirs of jobs that no longer run, and leftover trash. Returns what it removed. */
  async sweep(isRunning: (jobId: string) => boolean): Promise<string[]> {
    const removed: string[] = [];
    const machines = await fsp.readdir(this.root).catch(() => [] as string[]);
    for (const m of machines) {
      if (!/^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/.test(m)) continue;
      for (const name of await fsp.readdir(join(this.root, m)).catch(() => [] as string[])) {
        const job = name.startsWith('.incoming-') ? name.slice('.incoming-'.length) : null;
        if ((job !== null && isJobId(job) && !isRunning(job)) || name.startsWith('.trash-')) {
          await fsp.rm(join(this.root, m, name), { recursive: true, force: true });
          removed.push(`${m}/${name}`);
        }
      }
    }
    return removed;
  }
}
