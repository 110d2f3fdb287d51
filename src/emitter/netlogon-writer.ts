/**
 * Places an action's rendered scripts in a machine's folder and takes them away again.
 *
 * Two destinations, one interface: a local directory (the server's own netlogon tree, e.g.
 * /home/netlogon/machine/<name>/ as on SE3) or an SMB share reached with smbclient
 * (smb-destination.ts). The writer validates every name before a destination sees it, so a
 * `../` or a `;` from anywhere upstream is refused before any file or process is touched.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, InputError } from '../common/domain/errors';
import type { Hostname } from '../common/domain/hostname';

export interface NetlogonFile {
  readonly name: string;
  readonly content: string | Buffer;
}

/** What destinations receive: names already validated, contents as bytes. */
export interface CheckedFile {
  readonly name: string;
  readonly content: Buffer;
}

export interface NetlogonDestination {
  /** For logs and errors: where files go, no secrets. */
  describe(machine: Hostname): string;
  put(machine: Hostname, files: readonly CheckedFile[]): Promise<void>;
  /** Removes the files (missing ones are fine) and the machine folder if it is left empty. */
  remove(machine: Hostname, names: readonly string[]): Promise<void>;
}

/**
 * A plain file name: letters, digits, '_', '-', and at most one '.' before a short extension.
 * That rules out '..', separators, wildcards, spaces, quotes and ';' in one rule.
 */
export function parseNetlogonFileName(input: unknown, field = 'file'): string {
  if (typeof input !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}(\.[A-Za-z0-9]{1,8})?$/.test(input)) {
    throw new InputError(`${field}: "${String(input).slice(0, 60)}" is not a plain file name`, field);
  }
  return input;
}

function checkFiles(files: readonly NetlogonFile[]): CheckedFile[] {
  if (!Array.isArray(files) || files.length === 0 || files.length > 16) throw new InputError('files: 1 to 16 files', 'files');
  const seen = new Set<string>();
  return files.map((f) => {
    const name = parseNetlogonFileName(f.name);
    // Windows and Samba compare names case-insensitively: two names differing in case are one file.
    if (seen.has(name.toLowerCase())) throw new InputError(`files: ${name} given twice`, 'files');
    seen.add(name.toLowerCase());
    const content = typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : Buffer.from(f.content);
    if (content.length > 1024 * 1024) throw new InputError(`files: ${name} is larger than 1 MiB`, 'files');
    return { name, content };
  });
}

export interface WrittenScripts {
  readonly machine: string;
  readonly names: readonly string[];
  readonly location: string;
}

export class NetlogonWriter {
  constructor(private readonly destination: NetlogonDestination) {}

  async write(machine: Hostname, files: readonly NetlogonFile[]): Promise<WrittenScripts> {
    const checked = checkFiles(files);
    await this.destination.put(machine, checked);
    return { machine: machine.value, names: checked.map((f) => f.name), location: this.destination.describe(machine) };
  }

  /** Cleanup after the acknowledgement, a timeout or a cancel; safe to call twice. */
  async remove(machine: Hostname, names: readonly string[]): Promise<void> {
    const checked = names.map((n) => parseNetlogonFileName(n));
    if (checked.length === 0) return;
    await this.destination.remove(machine, checked);
  }
}

// ---------------------------------------------------------------- local directory

export interface LocalDestinationOptions {
  /** Absolute folder holding one sub-folder per machine, e.g. /home/netlogon/machine. Must exist. */
  readonly root: string;
  /**
   * The scripts carry one-time tokens: not world-readable by default. Give Samba's serving
   * account access through the group (or ACLs) of the root folder.
   */
  readonly fileMode?: number;
  readonly dirMode?: number;
}

export class LocalNetlogonDestination implements NetlogonDestination {
  private readonly fileMode: number;
  private readonly dirMode: number;

  constructor(private readonly options: LocalDestinationOptions) {
    if (!path.isAbsolute(options.root)) throw new InputError('netlogon root must be an absolute path', 'root');
    this.fileMode = options.fileMode ?? 0o640;
    this.dirMode = options.dirMode ?? 0o750;
  }

  describe(machine: Hostname): string {
    return path.join(this.options.root, machine.value);
  }

  async put(machine: Hostname, files: readonly CheckedFile[]): Promise<void> {
    const dir = await this.machineDir(machine, true);
    if (!dir) throw new ConflictError(`cannot create the folder of ${machine.value}`);
    const written: string[] = [];
    try {
      for (const f of files) {
        await writeAtomic(path.join(dir, f.name), f.content, this.fileMode);
        written.push(f.name);
      }
    } catch (e) {
      // All or nothing: a half-prepared emitter would run an old or incomplete script.
      await Promise.all(written.map((n) => fs.rm(path.join(dir, n), { force: true })));
      throw e;
    }
  }

  async remove(machine: Hostname, names: readonly string[]): Promise<void> {
    const dir = await this.machineDir(machine, false);
    if (!dir) return;
    for (const n of names) await fs.rm(path.join(dir, n), { force: true });
    await fs.rmdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST' && e.code !== 'ENOENT') throw e;
    });
  }

  /**
   * The machine folder, jailed under the real root: the joined path must stay inside it, and a
   * symlink in its place (planted to redirect our writes elsewhere) is refused.
   */
  private async machineDir(machine: Hostname, create: boolean): Promise<string | null> {
    const root = await fs.realpath(this.options.root);
    const dir = path.resolve(root, machine.value);
    if (path.dirname(dir) !== root) throw new InputError(`machine folder escapes ${root}`, 'machine');
    const st = await fs.lstat(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (st && !st.isDirectory()) throw new ConflictError(`${dir} exists and is not a plain directory`);
    if (!st) {
      if (!create) return null;
      await fs.mkdir(dir, { mode: this.dirMode });
    }
    return dir;
  }
}

/** Temp file + rename: Windows reading the share never sees half a script. */
async function writeAtomic(file: string, content: Buffer, mode: number): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, content, { mode, flag: 'wx' });
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
