/**
 * The accounts the Configuration page can test, from the saved settings: which credentials, on
 * which server and share. Join and remote-reboot accounts are domain accounts: they are checked
 * against the server the admin names (default: the netlogon share's server, usually the domain
 * controller), with the netlogon share's port and client configuration.
 */
import { type AccountCheckOptions, type AccountCheckResult, type AccountCheckTarget, checkSmbAccount } from '../samba/account-check';
import { parseSambaCredentials, type SambaCredentials } from '../samba/samba-command';
import { isSmbServer } from '../images/smb-settings';
import type { ModuleMessageKey } from '../i18n/module-messages';
import type { ModuleSettings } from './module-settings';
import type { SettingsGroup } from './setting';

export type AccountName = NonNullable<SettingsGroup['account']>;
export const ACCOUNTS: readonly AccountName[] = ['netlogon', 'join', 'rpc', 'smb'];

export type AccountTestOutcome = AccountCheckResult | 'incomplete' | 'no-server';

export const OUTCOME_MESSAGES: Readonly<Record<AccountTestOutcome, ModuleMessageKey>> = {
  ok: 'settings.test.ok', auth: 'settings.test.auth', denied: 'settings.test.denied', unreachable: 'settings.test.unreachable',
  timeout: 'settings.test.timeout', 'not-found': 'settings.test.notFound', 'missing-program': 'settings.test.missingProgram',
  failed: 'settings.test.failed', incomplete: 'settings.test.incomplete', 'no-server': 'settings.test.noServer',
};

/** Does this account need the admin to name a server (it is a domain account, not a share's)? */
export function needsServer(account: AccountName): boolean {
  return account === 'join' || account === 'rpc';
}

function credentialsOf(settings: ModuleSettings, account: AccountName): SambaCredentials | null {
  try {
    if (account === 'rpc') return settings.rpcAccount();
    if (account === 'join') {
      const j = settings.join();
      return j && parseSambaCredentials({ username: j.username, password: j.password, domain: j.domain.split('.')[0] });
    }
    if (account === 'netlogon') {
      const v = settings.netlogon();
      return parseSambaCredentials({ username: v.username, password: v.password ?? '', domain: v.domain || undefined });
    }
    const smb = settings.smb();
    if (!smb || !smb.user || !smb.password) return null;
    return { username: smb.user, password: smb.password, ...(smb.domain ? { domain: smb.domain } : {}) };
  } catch {
    return null;
  }
}

function targetOf(settings: ModuleSettings, account: AccountName, typedServer: string): AccountCheckTarget | null {
  const n = settings.netlogon();
  if (account === 'smb') {
    const smb = settings.smb();
    return smb ? { server: smb.server, share: smb.share } : null;
  }
  if (account === 'netlogon') return n.server ? { server: n.server, share: n.share, port: n.port, configFile: n.configFile || null } : null;
  const server = typedServer.trim() || n.server;
  return server && isSmbServer(server) ? { server, share: null, port: n.port, configFile: n.configFile || null } : null;
}

/** Runs the real check of a saved account; `typedServer` is used by the domain accounts only. */
export async function testAccount(settings: ModuleSettings, account: AccountName, typedServer: string, opts: AccountCheckOptions = {}): Promise<{ outcome: AccountTestOutcome; server: string }> {
  const target = targetOf(settings, account, typedServer);
  const creds = credentialsOf(settings, account);
  if (!creds) return { outcome: 'incomplete', server: target?.server ?? '' };
  if (!target) return { outcome: 'no-server', server: '' };
  return { outcome: await checkSmbAccount(creds, target, opts), server: target.server };
}
