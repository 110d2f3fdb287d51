/**
 * The features that use a Windows domain account, each with its own (SE3 used adminse3 for all):
 * - wake: `net rpc shutdown -r` on running PCs (wake.method reboot);
 * - netlogon: where the emitter's scripts go (a local folder Samba serves, or an SMB share);
 * - join: the account the clones join the domain with (given to them after the clone).
 * Passwords are kept in clear (the tools must present them): `secret`, write-only on the page,
 * never in argv (src/samba/samba-command.ts writes a 0600 auth file).
 */
import { WAKE_METHODS } from '../wake/waker';
import { isSambaPassword, SAMBA_DOMAIN, SAMBA_USERNAME } from '../samba/samba-command';
import { isSmbServer } from '../images/smb-settings';
import type { ModuleMessageKey } from '../i18n/module-messages';
import { bool, choice, group, int, optionalInt, password, text } from './setting';

const blankOr = (ok: (v: string) => boolean) => (v: string) => v === '' || ok(v);
const USERNAME = blankOr((v) => SAMBA_USERNAME.test(v));
const DOMAIN = blankOr((v) => SAMBA_DOMAIN.test(v));
/** An absolute path of plain segments (no "..", blanks or shell characters). */
const ABSOLUTE = (v: string) => /^(\/[A-Za-z0-9_.-]+)+\/?$/.test(v) && !v.split('/').some((s) => s === '.' || s === '..');
const SHARE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,78}\$?$/;
const SHARE_DIR = (v: string) => v.split(/[\\/]+/).filter(Boolean).length <= 8
  && v.split(/[\\/]+/).filter(Boolean).every((s) => /^[A-Za-z0-9_$-][A-Za-z0-9_.$-]{0,63}$/.test(s) && !/^\.+$/.test(s));
const WAKE_LABELS: Record<(typeof WAKE_METHODS)[number], ModuleMessageKey> = { wol: 'settings.wake.wol', reboot: 'config.wake.reboot', 'wol+reboot': 'config.wake.both' };

export const WAKE_SETTINGS = group({
  id: 'wake',
  legend: 'settings.wake',
  hint: 'settings.wake.hint',
  account: 'rpc',
  settings: {
    method: choice('wake.method', 'wol', WAKE_METHODS.map((value) => ({ value, label: WAKE_LABELS[value] })), { label: 'config.wake', error: 'config.error.wake' }),
    /** An account allowed to shut the PCs down; blank: reboot is reported unavailable, WoL still runs. */
    rpcUsername: text('wake.rpc.username', '', USERNAME, { label: 'settings.account.username', error: 'settings.error.username', maxLength: 64 }),
    rpcDomain: text('wake.rpc.domain', '', DOMAIN, { label: 'settings.account.domain', error: 'settings.error.domain', maxLength: 64 }),
    rpcPassword: password('wake.rpc.password', { secret: true, ok: isSambaPassword, field: { label: 'settings.account.password', error: 'settings.error.sambaPassword', maxLength: 200 } }),
  },
  check: (v) => (v.rpcPassword !== null && v.rpcUsername === '' ? { rpcUsername: 'settings.error.usernameRequired' as const } : {}),
});

export const NETLOGON_SETTINGS = group({
  id: 'netlogon',
  legend: 'settings.netlogon',
  hint: 'settings.netlogon.hint',
  account: 'netlogon',
  settings: {
    destination: choice('netlogon.destination', 'local', [{ value: 'local', label: 'settings.netlogon.local' }, { value: 'smb', label: 'settings.netlogon.smb' }],
      { label: 'settings.netlogon.destination', error: 'config.error.refused' }),
    /** Blank: <dataDir>/netlogon/machine. Created 0750 when missing; Samba must serve it as netlogon/machine. */
    localRoot: text('netlogon.localRoot', '', blankOr(ABSOLUTE), { label: 'settings.netlogon.localRoot', error: 'settings.error.path', maxLength: 200 }),
    server: text('netlogon.smb.server', '', blankOr(isSmbServer), { label: 'config.storage.smbServer', error: 'config.error.smbServer', maxLength: 253 }),
    share: text('netlogon.smb.share', 'netlogon', (v) => SHARE.test(v), { label: 'config.storage.smbShare', error: 'config.error.smbShare', maxLength: 80 }),
    baseDir: text('netlogon.smb.baseDir', 'machine', blankOr(SHARE_DIR), { label: 'config.storage.smbSubdir', error: 'config.error.smbSubdir', maxLength: 200 }),
    username: text('netlogon.smb.username', '', USERNAME, { label: 'settings.account.username', error: 'settings.error.username', maxLength: 64 }),
    domain: text('netlogon.smb.domain', '', DOMAIN, { label: 'settings.account.domain', error: 'settings.error.domain', maxLength: 64 }),
    password: password('netlogon.smb.password', { secret: true, ok: isSambaPassword, field: { label: 'settings.account.password', error: 'settings.error.sambaPassword', maxLength: 200 } }),
    /** Blank: 445. */
    port: optionalInt('netlogon.smb.port', 1, 65535, { label: 'settings.netlogon.port', error: 'settings.error.port' }),
    /** smb.conf smbclient reads; blank: the system's. A server path, so not offered on the page. */
    configFile: text('netlogon.smb.configFile', '', blankOr(ABSOLUTE), { kind: 'hidden', label: 'settings.netlogon.configFile', error: 'settings.error.path' }),
    rebootDelaySeconds: int('emitter.rebootDelaySeconds', 5, 0, 600, { label: 'settings.emitter.rebootDelay', error: 'settings.error.range' }),
    /** Ask the emitter's UEFI firmware for one network boot (bcdedit /set {fwbootmgr} bootsequence). */
    uefiPxeOnce: bool('emitter.uefiPxeOnce', false, { label: 'settings.emitter.uefiPxeOnce' }),
  },
  check: (v) => (v.destination === 'smb' && v.server === '' ? { server: 'settings.error.netlogonServer' as const } : {}),
});

export const JOIN_SETTINGS = group({
  id: 'join',
  legend: 'settings.join',
  hint: 'settings.join.hint',
  account: 'join',
  settings: {
    /** How long after its action ended a post-clone token is still accepted (clones run it after the clone). */
    validHours: int('postclone.validHours', 72, 1, 24 * 30, { label: 'settings.join.validHours', error: 'settings.error.range' }),
    domain: text('postclone.join.domain', '', blankOr((v) => /^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$/.test(v)), { label: 'settings.account.domain', error: 'settings.error.domain', maxLength: 254 }),
    username: text('postclone.join.username', '', USERNAME, { label: 'settings.account.username', error: 'settings.error.username', maxLength: 64 }),
    /** One line of the clones' text/plain answer: no control characters (a newline would add a key). */
    password: password('postclone.join.password', { secret: true, ok: (v) => v.length <= 200 && !/[\x00-\x1f\x7f]/.test(v),
      field: { label: 'settings.account.password', error: 'settings.error.joinPassword', maxLength: 200 } }),
  },
  /** All three or none: a partial account is an error rather than a silent rename-only. */
  check: (v) => {
    const set = [v.domain !== '', v.username !== '', v.password !== null];
    if (set.every(Boolean) || !set.some(Boolean)) return {};
    return v.domain === '' ? { domain: 'settings.error.joinIncomplete' as const } : v.username === '' ? { username: 'settings.error.joinIncomplete' as const }
      : { password: 'settings.error.joinIncomplete' as const };
  },
});
