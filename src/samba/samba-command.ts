/**
 * Running Samba client tools (`net`, `smbclient`) without leaking the password or opening a shell.
 *
 * - Programs run through an injectable `CommandRunner` (execFile semantics: file + argument array,
 *   never a shell string), so unit tests record the exact argv and production uses child_process.
 * - The password never appears in argv (`ps` shows argv to every local user; SE3 passed adminse3's
 *   password there). Samba tools read it from `-A <file>` instead: we write that file mode 0600 in a
 *   fresh 0700 directory, and remove the directory in `finally`, whatever the command did.
 *   We prefer the file over `PASSWD=` in the environment because the environment is inherited by
 *   every child the tool spawns and is kept for the process's whole life in /proc/<pid>/environ.
 * - Failures become a `SambaCommandError` with a short, password-free stderr summary and a `kind`
 *   a caller can act on (wrong credentials vs. machine off vs. timeout).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClonageError, InputError } from '../common/domain/errors';

export interface CommandOptions {
  readonly timeoutMs: number;
  readonly env: NodeJS.ProcessEnv;
}

export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * execFile-like: resolves with the output on exit code 0, rejects otherwise with an Error carrying
 * `code` (exit code or spawn errno), `killed`/`signal` (timeout) and the captured `stdout`/`stderr`.
 */
export type CommandRunner = (file: string, args: readonly string[], options: CommandOptions) => Promise<CommandOutput>;

export interface CommandFailure extends Error {
  code?: number | string | null;
  killed?: boolean;
  signal?: NodeJS.Signals | string | null;
  stdout?: string;
  stderr?: string;
}

export const execFileRunner: CommandRunner = (file, args, options) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: options.timeoutMs, env: options.env, maxBuffer: 1024 * 1024, encoding: 'utf8', killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) {
          const failure = err as CommandFailure;
          failure.stdout = stdout;
          failure.stderr = stderr;
          reject(failure);
        } else resolve({ stdout, stderr });
      });
  });

/**
 * A minimal, predictable environment: C locale so error texts are the English ones we classify,
 * and nothing inherited that Samba would read as credentials (USER, PASSWD, PASSWD_FD, PASSWD_FILE).
 */
export function sambaEnv(): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', LANG: 'C' };
}

// ---------------------------------------------------------------- credentials

export interface SambaCredentials {
  readonly username: string;
  readonly password: string;
  /** Workgroup / NT domain; omitted from the file when absent (the tool's smb.conf decides). */
  readonly domain?: string;
}

/**
 * Checks credentials against what Samba's authentication-file parser can carry: one line per
 * value (no CR/LF or other control characters), leading blanks of a value are eaten, and lines
 * are read into a 256-byte buffer, so long values would be silently cut.
 */
/** An account name Samba tools take (also what the Configuration page accepts). */
export const SAMBA_USERNAME = /^[A-Za-z0-9][A-Za-z0-9._$-]{0,63}$/;
/** A workgroup or domain name. */
export const SAMBA_DOMAIN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;

/** 1 to 200 characters, no control character, no leading blank (see parseSambaCredentials). */
export function isSambaPassword(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 200 && !/[\x00-\x1f\x7f]/.test(v) && !/^[ \t]/.test(v);
}

export function parseSambaCredentials(input: { username?: unknown; password?: unknown; domain?: unknown }): SambaCredentials {
  const { username, password, domain } = input;
  if (typeof username !== 'string' || !SAMBA_USERNAME.test(username)) {
    throw new InputError('username: expected 1 to 64 letters, digits, ".", "_", "$" or "-"', 'username');
  }
  if (typeof password !== 'string' || password.length === 0 || password.length > 200) {
    throw new InputError('password: expected 1 to 200 characters', 'password');
  }
  if (/[\x00-\x1f\x7f]/.test(password)) throw new InputError('password: control characters cannot be passed to Samba tools', 'password');
  if (/^[ \t]/.test(password)) throw new InputError('password: Samba tools drop leading blanks of a password', 'password');
  if (domain !== undefined && domain !== null && domain !== '') {
    if (typeof domain !== 'string' || !SAMBA_DOMAIN.test(domain)) {
      throw new InputError('domain: expected a workgroup or domain name', 'domain');
    }
    return { username, password, domain };
  }
  return { username, password };
}

export function authFileContent(c: SambaCredentials): string {
  return `username = ${c.username}\npassword = ${c.password}\n${c.domain ? `domain = ${c.domain}\n` : ''}`;
}

/**
 * Runs `fn` with the path of a 0600 authentication file (inside a 0700 directory of its own),
 * and removes both afterwards, also when `fn` throws.
 */
export async function withAuthFile<T>(creds: SambaCredentials, fn: (authFile: string, privateDir: string) => Promise<T>,
  tempRoot: string = tmpdir()): Promise<T> {
  const dir = await mkdtemp(join(tempRoot, 'clonage-auth-'));
  try {
    await chmod(dir, 0o700);
    const file = join(dir, 'auth');
    await writeFile(file, authFileContent(creds), { mode: 0o600, flag: 'wx' });
    return await fn(file, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- errors

export type SambaFailureKind = 'auth' | 'denied' | 'unreachable' | 'timeout' | 'not-found' | 'missing-program' | 'failed';

export class SambaCommandError extends ClonageError {
  constructor(readonly program: string, readonly kind: SambaFailureKind, readonly summary: string, readonly exitCode: number | null) {
    super(`${program}: ${describeKind(kind)}${summary ? ` (${summary})` : ''}`);
  }
}

function describeKind(kind: SambaFailureKind): string {
  switch (kind) {
    case 'auth': return 'wrong user name or password';
    case 'denied': return 'access denied';
    case 'unreachable': return 'machine unreachable';
    case 'timeout': return 'timed out';
    case 'not-found': return 'not found';
    case 'missing-program': return 'program not installed';
    default: return 'failed';
  }
}

/** Classifies a Samba tool's output; the NT_STATUS/WERR names are stable across versions and locales. */
export function classifySambaOutput(text: string): SambaFailureKind {
  if (/NT_STATUS_(LOGON_FAILURE|WRONG_PASSWORD|NO_SUCH_USER|ACCOUNT_DISABLED|ACCOUNT_LOCKED_OUT|PASSWORD_EXPIRED)/.test(text)) return 'auth';
  if (/NT_STATUS_ACCESS_DENIED|WERR_ACCESS_DENIED|NT_STATUS_PRIVILEGE_NOT_HELD/.test(text)) return 'denied';
  if (/NT_STATUS_(CONNECTION_REFUSED|HOST_UNREACHABLE|NETWORK_UNREACHABLE|IO_TIMEOUT|CONNECTION_RESET|CONNECTION_DISCONNECTED)|Connection to .* failed/.test(text)) {
    return 'unreachable';
  }
  if (/NT_STATUS_(BAD_NETWORK_NAME|OBJECT_NAME_NOT_FOUND|OBJECT_PATH_NOT_FOUND|NO_SUCH_FILE)/.test(text)) return 'not-found';
  return 'failed';
}

/**
 * A few lines of output, enough to explain a failure on the action page. Secrets are removed
 * again here even though they never reach argv, in case a tool echoes its configuration.
 */
export function summarizeOutput(text: string, secrets: readonly string[] = [], maxChars = 300): string {
  let s = text;
  for (const secret of secrets) if (secret) s = s.split(secret).join('***');
  const lines = s.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !/^(Copyright|smbd version|Samba version)/i.test(l));
  const picked = lines.filter((l) => /NT_STATUS_|WERR_|failed|error|denied|refused|does not exist/i.test(l));
  const out = (picked.length ? picked : lines).slice(-4).join(' | ');
  return out.length > maxChars ? `${out.slice(0, maxChars - 1)}…` : out;
}

/** Turns a rejected runner promise into a SambaCommandError. */
export function toSambaError(program: string, err: unknown, secrets: readonly string[] = []): SambaCommandError {
  const f = (err ?? {}) as CommandFailure;
  if (f.code === 'ENOENT') return new SambaCommandError(program, 'missing-program', '', null);
  const output = `${f.stderr ?? ''}\n${f.stdout ?? ''}`;
  const summary = summarizeOutput(output, secrets) || summarizeOutput(f.message ?? '', secrets);
  const exitCode = typeof f.code === 'number' ? f.code : null;
  if (f.killed || (f.signal && exitCode === null)) return new SambaCommandError(program, 'timeout', summary, exitCode);
  return new SambaCommandError(program, classifySambaOutput(output), summary, exitCode);
}
