/**
 * Interoperability with real clients (tftp-hpa, atftp, curl) on loopback, byte-exact by sha256,
 * including a 40 MiB file that forces the block number past 65535 at 512-byte blocks (bigger
 * blocks go through a 6 MiB file: they would not roll over below 96 MiB anyway).
 * The big transfers are lockstep (one round trip per block): their bound is a hang guard sized for
 * a loaded CI machine, never a speed check (speed is measured by bench/tftp-bench.ts).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../src/host/contract';
import { DirectorySource } from '../../src/tftp/directory-source';
import { TftpServer } from '../../src/tftp/tftp-server';
import { atftpGet, curlGet, sha256File, tftpHpaGet, tftpHpaPut } from '../helpers/tftp-clients';

interface LogRecord {
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

const BIG = 40 * 1024 * 1024;
const MID = 6 * 1024 * 1024;
/** Per big transfer: a hang guard, generous because a loaded machine slows lockstep transfers a lot. */
const BIG_MS = 300_000;
const SMALL: Record<string, number> = { 'empty.bin': 0, '511.bin': 511, '512.bin': 512, '513.bin': 513 };

let base: string;
let root: string;
let out: string;
let server: TftpServer;
const logs: LogRecord[] = [];
const hashes = new Map<string, string>();
let seq = 0;

const record = (msg: string, fields?: Record<string, unknown>) => void logs.push({ msg, fields: fields ?? {} });
const logger: Logger = { debug: record, info: record, warn: record, error: record };
const outFile = (name: string) => path.join(out, `${++seq}-${path.basename(name)}`);
const starts = () => logs.filter((l) => l.msg === 'tftp: transfer start');

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'clonage-tftp-interop-'));
  root = path.join(base, 'root');
  out = path.join(base, 'out');
  await fs.mkdir(path.join(root, 'pxelinux.cfg'), { recursive: true });
  await fs.mkdir(out);
  for (const [name, size] of Object.entries(SMALL)) await fs.writeFile(path.join(root, name), randomBytes(size));
  await fs.writeFile(path.join(root, 'pxelinux.cfg', 'default'), 'DEFAULT local\n');
  for (const [name, size] of [['big.bin', BIG], ['mid.bin', MID]] as const) {
    const file = await fs.open(path.join(root, name), 'w');
    for (let written = 0; written < size; written += 1 << 20) await file.write(randomBytes(1 << 20));
    await file.close();
  }
  for (const name of [...Object.keys(SMALL), 'big.bin', 'mid.bin', 'pxelinux.cfg/default']) hashes.set(name, await sha256File(path.join(root, name)));
  server = new TftpServer({ source: new DirectorySource(root), port: 0, address: '127.0.0.1', logger });
  await server.start();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (base !== undefined) await fs.rm(base, { recursive: true, force: true });
});

async function expectSame(name: string, local: string): Promise<void> {
  expect(await sha256File(local)).toBe(hashes.get(name));
}

describe('small files, every client and block size', () => {
  const names = [...Object.keys(SMALL), 'pxelinux.cfg/default'];

  it.each(names)('tftp-hpa gets %s', async (name) => {
    const local = outFile(name);
    const r = await tftpHpaGet(server.port, name, local);
    expect(r.stdout + r.stderr).not.toMatch(/error/i);
    await expectSame(name, local);
  });

  it.each(names)('atftp gets %s with blksize 1468', async (name) => {
    const local = outFile(name);
    expect((await atftpGet(server.port, name, local, ['blksize 1468'])).code).toBe(0);
    await expectSame(name, local);
  });

  const curlCases = names.flatMap((name) => [512, 1024, 1468, 8192].map((b) => [name, b] as const));
  it.each(curlCases)('curl gets %s with blksize %i', async (name, blksize) => {
    const local = outFile(name);
    const r = await curlGet(server.port, name, local, blksize);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    await expectSame(name, local);
  });
});

describe('big files (a 40 MiB one rolls block numbers over at 512-byte blocks)', () => {
  jest.setTimeout(BIG_MS + 10_000);

  it('tftp-hpa, 512-byte blocks, no options', async () => {
    const local = outFile('big.bin');
    const r = await tftpHpaGet(server.port, 'big.bin', local, 'binary', BIG_MS);
    expect(r.stdout + r.stderr).not.toMatch(/error/i);
    await expectSame('big.bin', local);
  });

  it('curl, blksize 512', async () => {
    const local = outFile('big.bin');
    expect(await curlGet(server.port, 'big.bin', local, 512, BIG_MS)).toMatchObject({ code: 0, stderr: '' });
    await expectSame('big.bin', local);
  });

  it.each([1468, 8192])('curl, blksize %i (6 MiB)', async (blksize) => {
    const local = outFile('mid.bin');
    expect(await curlGet(server.port, 'mid.bin', local, blksize, BIG_MS)).toMatchObject({ code: 0, stderr: '' });
    await expectSame('mid.bin', local);
  });

  it('atftp, blksize 1468 (6 MiB)', async () => {
    const local = outFile('mid.bin');
    expect((await atftpGet(server.port, 'mid.bin', local, ['blksize 1468'], BIG_MS)).code).toBe(0);
    await expectSame('mid.bin', local);
  });

  it('atftp with windowsize 8 (RFC 7440) at 512-byte blocks, with tsize', async () => {
    const local = outFile('big.bin');
    const before = starts().length;
    const r = await atftpGet(server.port, 'big.bin', local, ['blksize 512', 'windowsize 8', 'tsize enable'], BIG_MS);
    expect(r.code).toBe(0);
    await expectSame('big.bin', local);
    expect(starts().slice(before)[0]?.fields).toMatchObject({ windowsize: 8, blksize: 512, size: BIG });
  });
});

describe('refusals', () => {
  it('tftp-hpa: ../etc/passwd is an access violation', async () => {
    const r = await tftpHpaGet(server.port, '../etc/passwd', outFile('passwd'));
    expect(r.stdout + r.stderr).toMatch(/Error code 2/);
  });

  it('curl: ../etc/passwd is refused', async () => {
    const r = await curlGet(server.port, '../etc/passwd', outFile('passwd'));
    expect(r.code).toBe(69); // CURLE_TFTP_PERM
  });

  it('atftp: pxelinux.cfg/../../etc/passwd is refused', async () => {
    const r = await atftpGet(server.port, 'pxelinux.cfg/../../etc/passwd', outFile('passwd'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/'\.\.' in file name/);
  });

  it('/etc/passwd is looked up inside the root, never on the host', async () => {
    const local = outFile('passwd');
    const r = await tftpHpaGet(server.port, '/etc/passwd', local);
    expect(r.stdout + r.stderr).toMatch(/Error code 1/);
    expect((await fs.stat(local)).size).toBe(0);
    expect(logs.some((l) => l.msg === 'tftp: file not found' && l.fields.file === 'etc/passwd')).toBe(true);
  });

  it('/etc/passwd is an access violation when leading slashes are not stripped', async () => {
    const strict = new TftpServer({ source: new DirectorySource(root), port: 0, address: '127.0.0.1', stripLeadingSlash: false });
    await strict.start();
    try {
      const r = await tftpHpaGet(strict.port, '/etc/passwd', outFile('passwd'));
      expect(r.stdout + r.stderr).toMatch(/Error code 2/);
    } finally {
      await strict.stop();
    }
  });

  it('a missing file is error 1 for every client', async () => {
    expect((await tftpHpaGet(server.port, 'missing', outFile('m'))).stdout).toMatch(/Error code 1/);
    expect((await atftpGet(server.port, 'missing', outFile('m'))).stderr).toMatch(/file not found/);
    expect((await curlGet(server.port, 'missing', outFile('m'))).code).toBe(68); // CURLE_TFTP_NOTFOUND
  });

  it('a write (tftp-hpa put) is refused with error 2 and nothing is written', async () => {
    const local = path.join(out, 'upload.txt');
    await fs.writeFile(local, 'should not arrive');
    const r = await tftpHpaPut(server.port, local, 'uploaded.txt');
    expect(r.stdout + r.stderr).toMatch(/Error code 2/);
    await expect(fs.stat(path.join(root, 'uploaded.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('netascii (tftp-hpa ascii mode) is refused with error 4', async () => {
    const r = await tftpHpaGet(server.port, '511.bin', outFile('a'), 'ascii');
    expect(r.stdout + r.stderr).toMatch(/Error code 4/);
  });

  it('leaves no session behind', () => {
    expect(server.sessionCount).toBe(0);
  });
});
