/**
 * Module settings the emitter preparation reads, each validated when used (the configuration
 * page may change them at any time; a bad value fails the action with the key's name).
 *
 * | key | default |
 * |---|---|
 * | `netlogon.destination` | `local` (`local` or `smb`) |
 * | `netlogon.localRoot` | `<dataDir>/netlogon/machine` |
 * | `netlogon.smb.server`, `.share`, `.baseDir` | —, `netlogon`, `machine` |
 * | `netlogon.smb.username`, `.password`, `.domain` | — (cleartext in settings: docs/emitter-preparation.md) |
 * | `netlogon.smb.port`, `.configFile` | 445, the system's smb.conf |
 * | `emitter.rebootDelaySeconds`, `emitter.uefiPxeOnce` | 5, false |
 * | `postclone.validHours` | 72 |
 * | `postclone.join.domain`, `.username`, `.password` | — (unset: the clones are only renamed) |
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../common/domain/errors';
import type { SettingsStore } from '../host/contract';
import { LocalNetlogonDestination, type NetlogonDestination } from './netlogon-writer';
import { SmbNetlogonDestination } from './smb-destination';
import { parseSambaCredentials } from '../samba/samba-command';

export type Settings = Pick<SettingsStore, 'getOr'>;

function text(settings: Settings, key: string, fallback = ''): string {
  const v = settings.getOr<unknown>(key, fallback);
  if (typeof v !== 'string') throw new InputError(`${key}: text expected`, key);
  return v.trim();
}

function optionalPort(settings: Settings, key: string): number | null {
  const v = settings.getOr<unknown>(key, null);
  if (v === null || v === '') return null;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw new InputError(`${key}: 1..65535`, key);
  return n;
}

/** Where the emitter's scripts go. `local` creates its root folder (0750) when missing. */
export async function netlogonDestinationFrom(settings: Settings, dataDir: string): Promise<NetlogonDestination> {
  const kind = text(settings, 'netlogon.destination', 'local');
  if (kind === 'local') {
    const root = text(settings, 'netlogon.localRoot', '') || path.join(dataDir, 'netlogon', 'machine');
    if (!path.isAbsolute(root)) throw new InputError('netlogon.localRoot: an absolute path is required', 'netlogon.localRoot');
    await mkdir(root, { recursive: true, mode: 0o750 });
    return new LocalNetlogonDestination({ root });
  }
  if (kind === 'smb') {
    const server = text(settings, 'netlogon.smb.server');
    if (!server) throw new InputError('netlogon.smb.server: required when netlogon.destination is smb', 'netlogon.smb.server');
    const credentials = parseSambaCredentials({
      username: text(settings, 'netlogon.smb.username'),
      password: settings.getOr<unknown>('netlogon.smb.password', ''),
      domain: text(settings, 'netlogon.smb.domain') || undefined,
    });
    return new SmbNetlogonDestination({
      server,
      share: text(settings, 'netlogon.smb.share', 'netlogon') || 'netlogon',
      baseDir: text(settings, 'netlogon.smb.baseDir', 'machine'),
      credentials,
      port: optionalPort(settings, 'netlogon.smb.port'),
      configFile: text(settings, 'netlogon.smb.configFile') || null,
    });
  }
  throw new InputError('netlogon.destination: expected local or smb', 'netlogon.destination');
}

export interface ScriptOptions {
  readonly rebootDelaySeconds: number;
  readonly uefiPxeOnce: boolean;
}

export function scriptOptionsFrom(settings: Settings): ScriptOptions {
  const delay = settings.getOr<unknown>('emitter.rebootDelaySeconds', 5);
  return {
    rebootDelaySeconds: Number.isInteger(delay) && (delay as number) >= 0 && (delay as number) <= 600 ? (delay as number) : 5,
    uefiPxeOnce: settings.getOr<unknown>('emitter.uefiPxeOnce', false) === true,
  };
}

/** How long after its action ended a post-clone token is still accepted (clones run it after the clone). */
export function postCloneValidHours(settings: Settings): number {
  const v = settings.getOr<unknown>('postclone.validHours', 72);
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 24 * 30 ? (v as number) : 72;
}

export interface JoinCredentials {
  readonly domain: string;
  readonly username: string;
  readonly password: string;
}

/**
 * The account the clones join the domain with, or null (rename only). All three keys or none:
 * a partial configuration is an error rather than a silent rename-only.
 */
export function joinCredentialsFrom(settings: Settings): JoinCredentials | null {
  const domain = text(settings, 'postclone.join.domain');
  const username = text(settings, 'postclone.join.username');
  const password = settings.getOr<unknown>('postclone.join.password', '');
  if (!domain && !username && !password) return null;
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$/.test(domain)) throw new InputError('postclone.join.domain: a domain name is required', 'postclone.join.domain');
  if (!/^[A-Za-z0-9][A-Za-z0-9._$-]{0,63}$/.test(username)) throw new InputError('postclone.join.username: an account name is required', 'postclone.join.username');
  // One line of the text/plain answer: no control characters (a newline would add a key).
  if (typeof password !== 'string' || password.length === 0 || password.length > 200 || /[\x00-\x1f\x7f]/.test(password)) {
    throw new InputError('postclone.join.password: 1 to 200 characters, no control characters', 'postclone.join.password');
  }
  return { domain, username, password };
}
