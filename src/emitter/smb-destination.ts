/**
 * NetlogonDestination on an SMB share, through smbclient:
 *   smbclient //server/share -A <authfile> [-p port] [-s smb.conf] -c "mkdir a; …; lcd <tmp>; put f a/<m>/f"
 *
 * - execFile with an argument array; the password only in the 0600 auth file (samba-command.ts).
 * - The `-c` string is smbclient's own little language where ';' separates commands and quotes
 *   group words: every name in it has passed parseShareDir / Hostname / parseNetlogonFileName
 *   (letters, digits, '_', '-', '.', '$'), so nothing from a user can add a command.
 * - smbclient carries on after a failed command and exits with the status of the *last* one, so
 *   the exit code alone proves nothing: we read every NT_STATUS line and require one
 *   "putting file" confirmation per file.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../common/domain/errors';
import type { Hostname } from '../common/domain/hostname';
import {
  type CommandRunner, type SambaCredentials, execFileRunner, sambaEnv, SambaCommandError, classifySambaOutput,
  summarizeOutput, toSambaError, withAuthFile,
} from '../samba/samba-command';
import { parseShareDir, parseShareName, parseUncServer } from './emitter-scripts';
import { type CheckedFile, type NetlogonDestination, parseNetlogonFileName } from './netlogon-writer';

export interface SmbDestinationOptions {
  readonly server: string;
  readonly share: string;
  /** Folder in the share that holds one folder per machine, e.g. `machine`; '' for the share root. */
  readonly baseDir: string;
  readonly credentials: SambaCredentials;
  /** TCP port; default 445 (not passed). Tests use a local smbd on a high port. */
  readonly port?: number | null;
  readonly smbclientPath?: string;
  /** smb.conf smbclient reads (`-s`); default the system's. */
  readonly configFile?: string | null;
  readonly timeoutMs?: number;
  readonly runner?: CommandRunner;
  readonly tempRoot?: string;
}

/** Errors smbclient prints that mean "already as we want it". */
const HARMLESS_ON_PUT = /NT_STATUS_OBJECT_NAME_COLLISION making remote directory/;
const HARMLESS_ON_REMOVE = /NT_STATUS_(NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND|OBJECT_PATH_NOT_FOUND|DIRECTORY_NOT_EMPTY)/;

export class SmbNetlogonDestination implements NetlogonDestination {
  private readonly server: string;
  private readonly share: string;
  private readonly baseDir: string[];
  private readonly program: string;

  constructor(private readonly options: SmbDestinationOptions) {
    this.server = parseUncServer(options.server);
    this.share = parseShareName(options.share);
    this.baseDir = parseShareDir(options.baseDir);
    this.program = options.smbclientPath ?? 'smbclient';
    const port = options.port;
    if (port !== undefined && port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new InputError('smb: port must be 1..65535', 'port');
    if (options.configFile && !isPlainAbsolutePath(options.configFile)) throw new InputError('smb: configFile must be an absolute plain path', 'configFile');
  }

  describe(machine: Hostname): string {
    return `//${this.server}/${this.share}/${[...this.baseDir, machine.value].join('/')}`;
  }

  /** The `-c` command string for an upload; `localDir` holds the files under their own names. Pure, for tests. */
  putCommands(machine: Hostname, names: readonly string[], localDir: string): string {
    if (!isPlainAbsolutePath(localDir)) throw new InputError('smb: temporary folder path has unexpected characters', 'tempRoot');
    const folders = [...this.baseDir, machine.value];
    const cmds = folders.map((_, i) => `mkdir ${folders.slice(0, i + 1).join('/')}`);
    cmds.push(`lcd ${localDir}`);
    for (const n of names) cmds.push(`put ${parseNetlogonFileName(n)} ${[...folders, n].join('/')}`);
    return cmds.join('; ');
  }

  removeCommands(machine: Hostname, names: readonly string[]): string {
    const folder = [...this.baseDir, machine.value].join('/');
    return [...names.map((n) => `del ${folder}/${parseNetlogonFileName(n)}`), `rmdir ${folder}`].join('; ');
  }

  async put(machine: Hostname, files: readonly CheckedFile[]): Promise<void> {
    await withAuthFile(this.options.credentials, async (authFile, privateDir) => {
      // The files go next to the auth file, in the private 0700 directory removed afterwards.
      for (const f of files) await writeFile(join(privateDir, f.name), f.content, { mode: 0o600, flag: 'wx' });
      const names = files.map((f) => f.name);
      const output = await this.run(authFile, this.putCommands(machine, names, privateDir));
      const problems = statusLines(output).filter((l) => !HARMLESS_ON_PUT.test(l));
      const confirmed = names.filter((n) => new RegExp(`putting file ${escapeRe(n)} as `).test(output));
      if (problems.length || confirmed.length !== names.length) {
        // Take back what did land: a half-written folder must not be run by the PC.
        if (confirmed.length) await this.run(authFile, this.removeCommands(machine, confirmed)).catch(() => undefined);
        const text = problems.join('\n') || output;
        throw new SambaCommandError('smbclient put', classifySambaOutput(text), summarizeOutput(text, [this.options.credentials.password]), null);
      }
    }, this.options.tempRoot);
  }

  async remove(machine: Hostname, names: readonly string[]): Promise<void> {
    await withAuthFile(this.options.credentials, async (authFile) => {
      const output = await this.run(authFile, this.removeCommands(machine, names));
      const problems = statusLines(output).filter((l) => !HARMLESS_ON_REMOVE.test(l));
      if (problems.length) {
        const text = problems.join('\n');
        throw new SambaCommandError('smbclient del', classifySambaOutput(text), summarizeOutput(text, [this.options.credentials.password]), null);
      }
    }, this.options.tempRoot);
  }

  /** Runs smbclient; a non-zero exit (e.g. the session could not be set up) becomes a SambaCommandError. */
  private async run(authFile: string, commands: string): Promise<string> {
    const args = [`//${this.server}/${this.share}`, '-A', authFile];
    if (this.options.port) args.push('-p', String(this.options.port));
    if (this.options.configFile) args.push('-s', this.options.configFile);
    args.push('-c', commands);
    const runner = this.options.runner ?? execFileRunner;
    try {
      const out = await runner(this.program, args, { timeoutMs: this.options.timeoutMs ?? 60_000, env: sambaEnv() });
      return `${out.stdout}\n${out.stderr}`;
    } catch (e) {
      const failure = e as { stdout?: string; stderr?: string; code?: unknown; killed?: boolean };
      const text = `${failure.stdout ?? ''}\n${failure.stderr ?? ''}`;
      // Exit 1 after a session was set up only says the *last* command failed: hand the output to
      // the caller, which judges every NT_STATUS line. Anything else is a real failure.
      const sessionFailed = /session setup failed|tree connect failed|Connection to .* failed/i.test(text);
      if (failure.code === 1 && !failure.killed && !sessionFailed && statusLines(text).length > 0) return text;
      throw toSambaError('smbclient', e, [this.options.credentials.password]);
    }
  }
}

function statusLines(output: string): string[] {
  return output.split(/\r?\n/).filter((l) => /NT_STATUS_|does not exist/.test(l));
}

function isPlainAbsolutePath(p: string): boolean {
  return /^\/[A-Za-z0-9._/-]+$/.test(p) && !p.split('/').includes('..');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
