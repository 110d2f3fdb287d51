/**
 * File and process plumbing for the DHCP module: atomic writes of the generated configuration
 * and signalling the running dnsmasq through its pid file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConflictError, InputError, NotFoundError } from '../../common/domain/errors';
import type { Logger } from '../../host/contract';

/**
 * Writes `content` to a temporary file in the same directory, fsyncs it, then renames it over
 * `file`: dnsmasq (re)reading at any moment sees the old file or the new one, never half of it.
 */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', mode);
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dir);
}

/** Makes the rename itself durable; best effort, some filesystems refuse fsync on directories. */
function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // the data is written; only crash-durability of the rename is weaker
  }
}

export interface SignalOptions {
  /** Default SIGHUP: dnsmasq then re-reads its dhcp-hostsfile. */
  readonly signal?: NodeJS.Signals;
  /**
   * The process name (/proc/<pid>/comm) the pid must belong to; null skips the check.
   * Default 'dnsmasq': a stale pid file may name a reused PID, and SIGHUP kills most programs.
   */
  readonly expectedName?: string | null;
}

/** Sends a signal to the process whose PID is in `pidFile`, by PID (no shell, no pkill). Returns the PID. */
export function signalPidFile(pidFile: string, options: SignalOptions = {}): number {
  const signal = options.signal ?? 'SIGHUP';
  const expected = options.expectedName === undefined ? 'dnsmasq' : options.expectedName;
  let text: string;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${pidFile}: no pid file, is the server running?`);
    throw e;
  }
  const m = /^\s*([1-9][0-9]{0,9})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : NaN;
  // 1 is init; 4194304 is the kernel's PID_MAX_LIMIT.
  if (!(pid > 1 && pid <= 4194304)) throw new InputError(`${pidFile}: does not hold a process id`);
  if (expected !== null) {
    let comm: string;
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      throw new NotFoundError(`process ${pid} from ${pidFile} is not running`);
    }
    if (comm !== expected) throw new ConflictError(`process ${pid} from ${pidFile} is "${comm}", not ${expected}: stale pid file, not signalled`);
  }
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw new NotFoundError(`process ${pid} from ${pidFile} is not running`);
    throw e;
  }
  return pid;
}

/**
 * The production reload hook: SIGHUP makes dnsmasq re-read the reservations file. A changed main
 * config (settings, PXE options) needs a restart, which only the service manager can do, so it
 * is logged as a warning for the administrator.
 */
export function sighupReloader(pidFile: string, logger: Logger): (what: { readonly configChanged: boolean }) => void {
  return (what) => {
    const pid = signalPidFile(pidFile);
    if (what.configChanged) logger.warn('dhcp: dnsmasq must be restarted to apply its new configuration (SIGHUP only re-reads reservations)', { pid });
  };
}
