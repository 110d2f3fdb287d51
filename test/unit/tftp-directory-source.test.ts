import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ForbiddenError } from '../../src/common/domain/errors';
import { DirectorySource } from '../../src/tftp/directory-source';
import { bufferFile, type FileSource, type TftpFile } from '../../src/tftp/file-source';

const client = { address: '127.0.0.1', port: 1234 };

async function readAll(file: TftpFile, chunk: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < file.size; offset += chunk) parts.push(await file.read(offset, chunk));
  return Buffer.concat(parts);
}

describe('DirectorySource', () => {
  let base: string;
  let root: string;

  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'clonage-tftp-'));
    root = path.join(base, 'root');
    await fs.mkdir(path.join(root, 'boot'), { recursive: true });
    await fs.writeFile(path.join(base, 'secret'), 'outside the root');
    await fs.writeFile(path.join(root, 'boot', 'vmlinuz'), Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256)));
    await fs.symlink('boot/vmlinuz', path.join(root, 'kernel'));
    await fs.symlink('../secret', path.join(root, 'escape'));
    await fs.symlink(path.join(base, 'secret'), path.join(root, 'escape-absolute'));
    await fs.symlink(base, path.join(root, 'parent-dir'));
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    await fs.symlink('fifo', path.join(root, 'fifo-link'));
  });

  afterAll(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  it('reads a file at offsets, in chunks, byte-exact', async () => {
    const file = await new DirectorySource(root).open('boot/vmlinuz', client);
    expect(file?.size).toBe(5000);
    if (file === null) return;
    expect(await readAll(file, 512)).toEqual(await fs.readFile(path.join(root, 'boot', 'vmlinuz')));
    expect((await file.read(4990, 512)).length).toBe(10);
    expect((await file.read(5000, 512)).length).toBe(0);
    await file.close();
    await file.close(); // idempotent
  });

  it('follows a symlink that stays inside the root', async () => {
    const file = await new DirectorySource(root).open('kernel', client);
    expect(file?.size).toBe(5000);
    await file?.close();
  });

  it.each(['escape', 'escape-absolute', 'parent-dir/secret'])('refuses the symlink %s that leaves the root', async (name) => {
    await expect(new DirectorySource(root).open(name, client)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it.each(['../secret', '/etc/passwd', 'boot/../../secret', 'a\\b', ''])('refuses the unsafe path %j even if called directly', async (name) => {
    await expect(new DirectorySource(root).open(name, client)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('refuses a directory', async () => {
    await expect(new DirectorySource(root).open('boot', client)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('refuses FIFOs without opening them: more refusals than libuv has threads, and files are still read', async () => {
    const source = new DirectorySource(root);
    // An open() of a FIFO blocks its thread until a writer comes; with 4 threads blocked, the
    // read below would never complete and this test would hang instead of passing.
    for (const name of ['fifo', 'fifo-link', 'fifo', 'fifo-link', 'fifo', 'fifo']) {
      await expect(source.open(name, client)).rejects.toThrow('not a regular file');
    }
    const file = await source.open('boot/vmlinuz', client);
    expect(file?.size).toBe(5000);
    await file?.close();
  });

  it('refuses a character device', async () => {
    await expect(new DirectorySource('/dev').open('zero', client)).rejects.toThrow('not a regular file');
  });

  it.each(['missing', 'boot/missing', 'boot/vmlinuz/below-a-file'])('returns null for the missing %s', async (name) => {
    expect(await new DirectorySource(root).open(name, client)).toBeNull();
  });

  it('works when the root itself is reached through a symlink', async () => {
    const link = path.join(base, 'root-link');
    await fs.symlink(root, link);
    const file = await new DirectorySource(link).open('kernel', client);
    expect(file?.size).toBe(5000);
    await file?.close();
  });
});
