/**
 * Benchmark (not a test): the same boot file (the built initrd when present, else 8 MiB of random
 * bytes) fetched over our TFTP server (curl, blksize 1468 — what pxelinux negotiates) and over the
 * module's HTTP boot route style (express sendFile), both on 127.0.0.1. Bounded repetitions.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { DirectorySource } from '../src/tftp/directory-source';
import { TftpServer } from '../src/tftp/tftp-server';

const run = (args: string[]) =>
  new Promise<number>((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    execFile('curl', args, { timeout: 60_000 }, (err) => (err ? reject(err) : resolve(Number(process.hrtime.bigint() - t0) / 1e6)));
  });

export async function runHttpVsTftpBench(opts: { file?: string; reps?: number } = {}): Promise<Record<string, unknown>> {
  const reps = opts.reps ?? 5;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-httptftp-'));
  const file = path.join(dir, 'initrd.img');
  if (opts.file && fs.existsSync(opts.file)) fs.copyFileSync(opts.file, file);
  else fs.writeFileSync(file, randomBytes(8 << 20));
  const size = fs.statSync(file).size;
  const tftp = new TftpServer({ source: new DirectorySource(dir), port: 0, address: '127.0.0.1' });
  await tftp.start();
  const app = express();
  app.get('/initrd.img', (_req, res) => res.sendFile(file));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const httpPort = (server.address() as AddressInfo).port;
  try {
    const out = path.join(dir, 'out');
    const tftpMs: number[] = [];
    const httpMs: number[] = [];
    for (let i = 0; i < reps; i++) {
      tftpMs.push(await run(['-s', '-f', '--tftp-blksize', '1468', '-o', out, `tftp://127.0.0.1:${tftp.port}/initrd.img`]));
      httpMs.push(await run(['-s', '-f', '-o', out, `http://127.0.0.1:${httpPort}/initrd.img`]));
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const t = median(tftpMs);
    const h = median(httpMs);
    return {
      bytes: size, reps, source: opts.file && fs.existsSync(opts.file) ? 'built initrd' : 'random',
      tftpMedianMs: Math.round(t), httpMedianMs: Math.round(h), tftpOverHttp: Math.round((t / h) * 10) / 10,
    };
  } finally {
    await tftp.stop();
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runHttpVsTftpBench({ file: process.argv[2] }).then((r) => console.log(JSON.stringify(r, null, 2)), (e) => { console.error(e); process.exit(1); });
}
