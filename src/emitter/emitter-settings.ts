/**
 * The emitter preparation's settings (declared in src/settings/accounts.ts: netlogon.*,
 * emitter.*, postclone.*), turned into what it uses. Read at each use, so the Configuration page
 * may change them at any time; a bad value fails the action with the key's name.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseSambaCredentials } from '../samba/samba-command';
import type { ModuleSettings } from '../settings/module-settings';
import { LocalNetlogonDestination, type NetlogonDestination } from './netlogon-writer';
import { SmbNetlogonDestination } from './smb-destination';

export type { JoinCredentials } from '../settings/module-settings';

/** Where the emitter's scripts go. `local` creates its root folder (0750) when missing. */
export async function netlogonDestinationFrom(settings: ModuleSettings, dataDir: string): Promise<NetlogonDestination> {
  const v = settings.netlogon();
  if (v.destination === 'local') {
    const root = v.localRoot || path.join(dataDir, 'netlogon', 'machine');
    await mkdir(root, { recursive: true, mode: 0o750 });
    return new LocalNetlogonDestination({ root });
  }
  return new SmbNetlogonDestination({
    server: v.server,
    share: v.share,
    baseDir: v.baseDir,
    credentials: netlogonCredentials(settings),
    port: v.port,
    configFile: v.configFile || null,
  });
}

/** The netlogon share's account (throws InputError naming what is missing or unusable). */
export function netlogonCredentials(settings: ModuleSettings): ReturnType<typeof parseSambaCredentials> {
  const v = settings.netlogon();
  return parseSambaCredentials({ username: v.username, password: v.password ?? '', domain: v.domain || undefined });
}

export interface ScriptOptions {
  readonly rebootDelaySeconds: number;
  readonly uefiPxeOnce: boolean;
}
