/**
 * "Tester le compte": does a server accept these credentials? One real `smbclient` session,
 *   smbclient //server/<share or IPC$> -A <authfile> [-p port] [-s smb.conf] -c ls
 * the password only in the 0600 auth file (samba-command.ts), never in argv. Nothing is written:
 * `ls` on a share (the account must read it), nothing on IPC$ but the session itself.
 */
import { isSmbServer } from '../images/smb-settings';
import { InputError } from '../common/domain/errors';
import {
  type CommandRunner, execFileRunner, type SambaCredentials, type SambaFailureKind, sambaEnv, toSambaError, withAuthFile,
} from './samba-command';

export interface AccountCheckTarget {
  readonly server: string;
  /** The share to list; null: IPC$ (only the session is checked). */
  readonly share: string | null;
  readonly port?: number | null;
  /** smb.conf the client reads (-s); default the system's. */
  readonly configFile?: string | null;
}

export interface AccountCheckOptions {
  readonly runner?: CommandRunner;
  readonly smbclientPath?: string;
  readonly timeoutMs?: number;
  readonly tempRoot?: string;
}

export type AccountCheckResult = 'ok' | SambaFailureKind;

/** The argument list (auth file path included). Pure, for tests. */
export function accountCheckArgs(target: AccountCheckTarget, authFile: string): string[] {
  if (!isSmbServer(target.server)) throw new InputError('server: not a server name or IPv4 address', 'server');
  if (target.share !== null && !/^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,79}$/.test(target.share)) throw new InputError('share: not a share name', 'share');
  const args = [`//${target.server}/${target.share ?? 'IPC$'}`, '-A', authFile];
  if (target.port) args.push('-p', String(target.port));
  if (target.configFile) args.push('-s', target.configFile);
  if (target.share !== null) args.push('-c', 'ls');
  else args.push('-c', 'exit');
  return args;
}

export async function checkSmbAccount(creds: SambaCredentials, target: AccountCheckTarget, opts: AccountCheckOptions = {}): Promise<AccountCheckResult> {
  const runner = opts.runner ?? execFileRunner;
  return withAuthFile(creds, async (authFile) => {
    const args = accountCheckArgs(target, authFile);
    try {
      const out = await runner(opts.smbclientPath ?? 'smbclient', args, { timeoutMs: opts.timeoutMs ?? 20_000, env: sambaEnv() });
      // smbclient may exit 0 after a failed command: an NT_STATUS line is a failure all the same.
      const text = `${out.stdout}\n${out.stderr}`;
      return /NT_STATUS_/.test(text) ? toSambaError('smbclient', { stdout: out.stdout, stderr: out.stderr, code: 1 }, [creds.password]).kind : 'ok';
    } catch (e) {
      return toSambaError('smbclient', e, [creds.password]).kind;
    }
  }, opts.tempRoot);
}
