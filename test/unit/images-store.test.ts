import { createHash, randomBytes } from 'crypto';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../../src/common/domain/errors';
import { ImageStore, type WritableFile } from '../../src/images/image-store';
import { ImageIntegrityError, type ImageManifest, ImageStorageError, ImageTooLargeError } from '../../src/images/image-types';

const MAC = '02:00:00:00:00:01';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
async function* body(...parts: Buffer[]): AsyncIterable<Buffer> {
  for (const p of parts) yield p;
}
const ls = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

describe('image store files', () => {
  let root: string;
  let store: ImageStore;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-images-'));
    store = new ImageStore({ root, reserveBytes: 0 });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('writes an upload under its name once complete, with size and SHA-256', async () => {
    const data = randomBytes(300_000);
    const f = await store.writeUpload(MAC, 'j_1', 'sda1.pc.zst.000', body(data.subarray(0, 1000), data.subarray(1000)), { expectedSha256: sha(data), declaredBytes: data.length });
    expect(f).toEqual({ file: 'sda1.pc.zst.000', bytes: data.length, sha256: sha(data) });
    const dir = store.stagingDir(MAC, 'j_1');
    expect(dir).toBe(path.join(root, '02-00-00-00-00-01', '.incoming-j_1'));
    expect(ls(dir)).toEqual(['sda1.pc.zst.000']);
    expect(sha(fs.readFileSync(path.join(dir, 'sda1.pc.zst.000')))).toBe(sha(data));
  });

  it('a SHA-256 or length that differs from the announced one leaves no file', async () => {
    const data = randomBytes(5000);
    await expect(store.writeUpload(MAC, 'j_1', 'a.000', body(data), { expectedSha256: sha('other') })).rejects.toBeInstanceOf(ImageIntegrityError);
    await expect(store.writeUpload(MAC, 'j_1', 'a.000', body(data), { expectedSha256: sha(data), declaredBytes: 6000 })).rejects.toBeInstanceOf(ImageIntegrityError);
    expect(ls(store.stagingDir(MAC, 'j_1'))).toEqual([]);
  });

  it('too large: refused from the declared length, or cut while streaming, temp file removed', async () => {
    const small = new ImageStore({ root, reserveBytes: 0, maxUploadBytes: 1000 });
    await expect(small.writeUpload(MAC, 'j_1', 'a.000', body(Buffer.alloc(10)), { expectedSha256: sha('x'), declaredBytes: 1001 })).rejects.toBeInstanceOf(ImageTooLargeError);
    await expect(small.writeUpload(MAC, 'j_1', 'a.000', body(Buffer.alloc(600), Buffer.alloc(600)), { expectedSha256: sha('x') })).rejects.toBeInstanceOf(ImageTooLargeError);
    expect(ls(small.stagingDir(MAC, 'j_1'))).toEqual([]);
  });

  it('a write error (disk full) is an ImageStorageError and the temp file is removed', async () => {
    let tmpPath = '';
    const failing = new ImageStore({
      root, reserveBytes: 0,
      openForWrite: async (p): Promise<WritableFile> => {
        tmpPath = p;
        const h = await fs.promises.open(p, 'wx');
        let n = 0;
        return {
          write: async (d) => {
            n += d.length;
            if (n > 4096) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            return h.write(d);
          },
          sync: () => h.sync(),
          close: () => h.close(),
        };
      },
    });
    await expect(failing.writeUpload(MAC, 'j_1', 'a.000', body(Buffer.alloc(4000), Buffer.alloc(4000)), { expectedSha256: sha('x') })).rejects.toBeInstanceOf(ImageStorageError);
    expect(tmpPath).toMatch(/\.a\.000\.[0-9a-f]+\.tmp$/);
    expect(fs.existsSync(tmpPath)).toBe(false);
    expect(ls(failing.stagingDir(MAC, 'j_1'))).toEqual([]);
  });

  it('refuses an upload that would eat into the reserve before writing anything', async () => {
    const reserved = new ImageStore({ root, reserveBytes: Number.MAX_SAFE_INTEGER });
    await expect(reserved.writeUpload(MAC, 'j_1', 'a.000', body(Buffer.alloc(10)), { expectedSha256: sha(Buffer.alloc(10)), declaredBytes: 10 })).rejects.toThrow(/reserve/);
    expect(ls(reserved.stagingDir(MAC, 'j_1'))).toEqual([]);
  });

  (process.getuid?.() === 0 ? it : it.skip)('a really full filesystem (tmpfs of 1 MiB): 507-type error, nothing left behind', async () => {
    const mnt = path.join(root, 'small');
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    try {
      const tiny = new ImageStore({ root: mnt, reserveBytes: 0 });
      const data = randomBytes(3 << 20);
      const err = await tiny.writeUpload(MAC, 'j_1', 'a.000', body(...Array.from({ length: 48 }, (_, i) => data.subarray(i << 16, (i + 1) << 16))), { expectedSha256: sha(data) }).catch((e) => e);
      expect(err).toBeInstanceOf(ImageStorageError);
      expect(String(err.message)).toMatch(/ENOSPC/);
      expect(ls(tiny.stagingDir(MAC, 'j_1'))).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('refuses names that are not image file names before touching the disk', async () => {
    for (const bad of ['../x', 'manifest.json', '.x', 'a/b']) {
      await expect(store.writeUpload(MAC, 'j_1', bad, body(Buffer.alloc(1)), { expectedSha256: sha('x') })).rejects.toBeInstanceOf(InputError);
    }
    expect(ls(root)).toEqual([]);
  });

  async function stage(files: Record<string, Buffer>): Promise<{ file: string; bytes: number; sha256: string }[]> {
    const out = [];
    for (const [name, data] of Object.entries(files)) out.push(await store.writeUpload(MAC, 'j_1', name, body(data), { expectedSha256: sha(data) }));
    return out;
  }
  const manifest = (image: string) => ({ image }) as unknown as ImageManifest;

  it('verify re-reads every file: a changed byte or a missing file is named', async () => {
    const listed = await stage({ 'a.000': randomBytes(1000), 'a.001': randomBytes(10) });
    const dir = store.stagingDir(MAC, 'j_1');
    await store.verify(dir, listed);
    const f = path.join(dir, 'a.000');
    const b = fs.readFileSync(f);
    b[500] ^= 1;
    fs.writeFileSync(f, b);
    await expect(store.verify(dir, listed)).rejects.toThrow(/a\.000: SHA-256 on the server/);
    fs.rmSync(f);
    await expect(store.verify(dir, listed)).rejects.toThrow(/a\.000: missing/);
  });

  it('promote: manifest.json written, unlisted leftovers dropped, a same-named image replaced (undo puts it back)', async () => {
    const first = await stage({ 'a.000': Buffer.from('one') });
    let p = await store.promote(MAC, 'j_1', manifest('img'), first);
    await p.finish();
    const dir = store.imageDir(MAC, 'img');
    expect(ls(dir)).toEqual(['a.000', 'manifest.json']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'))).toEqual({ image: 'img' });

    const second = await stage({ 'a.000': Buffer.from('two'), 'stray.bin': Buffer.from('x') });
    p = await store.promote(MAC, 'j_1', manifest('img'), second.slice(0, 1));
    expect(fs.readFileSync(path.join(dir, 'a.000'), 'utf8')).toBe('two');
    await p.undo();
    expect(fs.readFileSync(path.join(dir, 'a.000'), 'utf8')).toBe('one');
    expect(ls(store.stagingDir(MAC, 'j_1'))).toEqual(['a.000', 'manifest.json']);
    p = await store.promote(MAC, 'j_1', manifest('img'), second.slice(0, 1));
    await p.finish();
    expect(fs.readFileSync(path.join(dir, 'a.000'), 'utf8')).toBe('two');
    expect(ls(store.machineDir(MAC))).toEqual(['img']);
  });

  it('sweep removes uploads of jobs that no longer run and trash, keeps running ones and images', async () => {
    await stage({ 'a.000': Buffer.from('x') });
    await store.writeUpload(MAC, 'j_2', 'a.000', body(Buffer.from('y')), { expectedSha256: sha('y') });
    fs.mkdirSync(path.join(store.machineDir(MAC), '.trash-old-1234'));
    fs.mkdirSync(path.join(store.machineDir(MAC), 'image_1'));
    const removed = await store.sweep((job) => job === 'j_2');
    expect(removed.sort()).toEqual(['02-00-00-00-00-01/.incoming-j_1', '02-00-00-00-00-01/.trash-old-1234']);
    expect(ls(store.machineDir(MAC))).toEqual(['.incoming-j_2', 'image_1']);
  });

  it('remove deletes an image directory; reading a missing manifest or file is NotFound', async () => {
    const listed = await stage({ 'a.000': Buffer.from('x') });
    await (await store.promote(MAC, 'j_1', manifest('img'), listed)).finish();
    const { bytes } = await store.openRead(MAC, 'img', 'a.000');
    expect(bytes).toBe(1);
    await store.remove(MAC, 'img');
    expect(ls(store.machineDir(MAC))).toEqual([]);
    await expect(store.readManifest(MAC, 'img')).rejects.toThrow(/no manifest/);
    await expect(store.openRead(MAC, 'img', 'a.000')).rejects.toThrow(/not in image/);
  });
});
