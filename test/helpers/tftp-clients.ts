/**
 * The real TFTP clients a user would point at the server (tftp-hpa, atftp, curl), run with
 * execFile and an argument array, bounded by a timeout so a hung client cannot hang the suite.
 * The bound is a hang guard, not a speed check: lockstep transfers slow down a lot on a loaded
 * machine, so callers moving big files pass a generous `timeoutMs`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(program: string, args: readonly string[], timeoutMs = 90_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(program, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** tftp-hpa: no option support at all (plain RFC 1350, 512-byte blocks). Exit code is 0 even on errors. */
export const tftpHpaGet = (port: number, remote: string, local: string, mode = 'binary', timeoutMs?: number) =>
  run('tftp', ['127.0.0.1', String(port), '-m', mode, '-c', 'get', remote, local], timeoutMs);

export const tftpHpaPut = (port: number, local: string, remote: string) =>
  run('tftp', ['127.0.0.1', String(port), '-m', 'binary', '-c', 'put', local, remote]);

/** atftp: options as "name value" pairs, e.g. ['blksize 1468', 'windowsize 8']. */
export const atftpGet = (port: number, remote: string, local: string, options: readonly string[] = [], timeoutMs?: number) =>
  run('atftp', ['--get', '-r', remote, '-l', local, ...options.flatMap((o) => ['--option', o]), '127.0.0.1', String(port)], timeoutMs);

/** curl: `--path-as-is` so '..' reaches the server instead of being resolved by URL parsing; its own --max-time ends 10 s before ours. */
export const curlGet = (port: number, remote: string, local: string, blksize?: number, timeoutMs = 90_000) =>
  run('curl', [
    '-sS', '--path-as-is', '--max-time', String(Math.max(1, Math.round(timeoutMs / 1000) - 10)),
    ...(blksize === undefined ? [] : ['--tftp-blksize', String(blksize)]),
    '-o', local, `tftp://127.0.0.1:${port}/${remote}`,
  ], timeoutMs);

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
