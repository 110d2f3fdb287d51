/**
 * Remote reboot of a running Windows PC, as SE3 did for the "reboot" choice:
 *   net rpc shutdown -r -f -t <secs> -C <comment> -I <ip> -A <authfile>
 * (InitiateSystemShutdownEx over the \PIPE\InitShutdown / winreg RPC interface on TCP 445).
 *
 * Differences with SE3 (se3-reference §1, §7): the password is never in argv — it goes through a
 * 0600 authentication file removed afterwards (see samba-command.ts for why not PASSWD=); the
 * program runs with execFile and an argument array; the IP, delay and comment are validated
 * before anything runs; and we always pass -r (SE3's `wait2` powered machines off by mistake).
 */
import { InputError } from '../common/domain/errors';
import type { Ipv4 } from '../common/domain/ipv4';
import {
  type CommandRunner, type SambaCredentials, execFileRunner, sambaEnv, toSambaError, withAuthFile,
} from '../samba/samba-command';

export const DEFAULT_REBOOT_DELAY_SECONDS = 30;
export const DEFAULT_REBOOT_COMMENT = 'Clonage: redemarrage pour une operation de clonage';

export interface RpcRebootOptions {
  readonly credentials: SambaCredentials;
  /** Path of `net`; default `net` found on PATH (/usr/bin on Debian). */
  readonly netPath?: string;
  /** smb.conf the client reads (`-s`); default the system's. */
  readonly configFile?: string | null;
  /** SMB port of the PCs; default 445 (not passed). Tests point it at a local smbd. */
  readonly port?: number | null;
  /** Whole-command timeout; `net` waits long on a powered-off PC. Default 20 s. */
  readonly timeoutMs?: number;
  readonly runner?: CommandRunner;
  /** Where the private credentials directory is created; default os.tmpdir(). */
  readonly tempRoot?: string;
}

export interface RebootRequest {
  /** Seconds Windows waits (and shows the comment) before rebooting; 0..600, default 30. */
  readonly delaySeconds?: number;
  readonly comment?: string;
  /** Close applications without asking (-f); default true, nobody is there to answer. */
  readonly force?: boolean;
}

/**
 * Letters (accents included), digits, space and light punctuation. execFile already keeps the
 * comment one argument; the charset keeps it readable in Windows' dialog and in logs.
 */
export function parseRebootComment(input: unknown, field = 'comment'): string {
  if (typeof input !== 'string') throw new InputError(`${field}: text expected`, field);
  const s = input.trim();
  if (s.length < 1 || s.length > 200 || !/^[\p{L}\p{N} .,:;!?()'_/+-]+$/u.test(s)) {
    throw new InputError(`${field}: 1 to 200 letters, digits, spaces or . , : ; ! ? ( ) ' _ / + -`, field);
  }
  return s;
}

export function parseRebootDelay(input: unknown, field = 'delaySeconds'): number {
  if (typeof input !== 'number' || !Number.isInteger(input) || input < 0 || input > 600) {
    throw new InputError(`${field}: 0 to 600 seconds`, field);
  }
  return input;
}

/** The exact argument list given to `net`, authentication file path included. Pure, for tests and logs. */
export function rpcShutdownArgs(ip: Ipv4, authFile: string, req: RebootRequest = {}, opts: { port?: number | null; configFile?: string | null } = {}): string[] {
  const delay = parseRebootDelay(req.delaySeconds ?? DEFAULT_REBOOT_DELAY_SECONDS);
  const comment = parseRebootComment(req.comment ?? DEFAULT_REBOOT_COMMENT);
  const args = ['rpc', 'shutdown', '-r'];
  if (req.force ?? true) args.push('-f');
  args.push('-t', String(delay), '-C', comment, '-I', ip.toString());
  if (opts.port !== undefined && opts.port !== null) args.push('-p', String(opts.port));
  if (opts.configFile) args.push('-s', opts.configFile);
  args.push('-A', authFile);
  return args;
}

export class RpcReboot {
  private readonly netPath: string;
  private readonly timeoutMs: number;
  private readonly runner: CommandRunner;

  constructor(private readonly options: RpcRebootOptions) {
    this.netPath = options.netPath ?? 'net';
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.runner = options.runner ?? execFileRunner;
    const port = options.port;
    if (port !== undefined && port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new InputError('reboot: port must be 1..65535', 'port');
    }
    if (options.configFile && !/^\/[A-Za-z0-9._/-]+$/.test(options.configFile)) throw new InputError('reboot: configFile must be an absolute plain path', 'configFile');
  }

  /**
   * Asks the PC at `ip` to reboot. Resolves when Windows accepted the request; rejects with a
   * SambaCommandError: `unreachable` (off, firewalled), `auth`, `denied` (account lacks the
   * remote shutdown right), `timeout`, `missing-program` or `failed`.
   */
  async reboot(ip: Ipv4, req: RebootRequest = {}): Promise<void> {
    // Validate before creating any file or process.
    rpcShutdownArgs(ip, '/dev/null', req, this.options);
    await withAuthFile(this.options.credentials, async (authFile) => {
      const args = rpcShutdownArgs(ip, authFile, req, this.options);
      try {
        await this.runner(this.netPath, args, { timeoutMs: this.timeoutMs, env: sambaEnv() });
      } catch (e) {
        throw toSambaError('net rpc shutdown', e, [this.options.credentials.password]);
      }
    }, this.options.tempRoot);
  }
}
