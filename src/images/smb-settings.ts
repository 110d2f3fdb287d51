/**
 * The SMB share of store=smb (SE3's type_dest_part=smb: dest_srv, dest_partage,
 * dest_sous_dossier, dest_compte, dest_mdp), kept in module settings `smb.*` and edited on the
 * Configuration page. Images go to `//server/share/<subdir>/<mac aa-bb-cc-dd-ee-ff>/<image>/`.
 *
 * The password is the one secret here: it is stored as given (the PC must present it to the
 * share, a hash would be useless), never rendered back by any page (the field is write-only:
 * blank keeps it), never put on a kernel command line, in a boot file or in a job; the agent of
 * a running smb job fetches it with its job token (GET …/image/smb-credentials, no-store).
 * Every value reaches busybox `mount -t cifs` as one argument: each is a closed character set,
 * without "," (the mount option separator) or a line break (the credentials answer is lines).
 */
import { InputError } from '../common/domain/errors';
import { moduleTranslator, translateRef, type ModuleMessageKey, type ModuleTranslate } from '../i18n/module-messages';

export const SMB_KEYS = {
  server: 'smb.server',
  share: 'smb.share',
  subdir: 'smb.subdir',
  user: 'smb.user',
  domain: 'smb.domain',
  password: 'smb.password',
} as const;

export interface SmbConfig {
  readonly server: string;
  readonly share: string;
  readonly subdir: string;
  readonly user: string;
  readonly domain: string;
  readonly password: string;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const SHARE = /^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,79}$/;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;
const DOMAIN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
/** Printable ASCII except "," (busybox mount splits options on it); at most 128. */
const PASSWORD = /^[\x20-\x2b\x2d-\x7e]{1,128}$/;

export function isSmbServer(v: string): boolean {
  if (IPV4.test(v)) return true;
  if (v.length > 253 || /^\d+(\.\d+)*$/.test(v)) return false; // digits only: a bad IPv4, not a name
  return v.split('.').every((l) => LABEL.test(l));
}

function text(body: Readonly<Record<string, unknown>>, field: string): string {
  const v = body[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new InputError(`${field}: a single value is expected`, field);
  return v.trim();
}

/**
 * Validates the SMB fields of the Configuration page (names smbServer, smbShare, smbSubdir,
 * smbUser, smbDomain, smbPassword). All blank = no share. A blank password keeps the stored one;
 * `smbPasswordClear` = "1" removes it.
 */
export function parseSmbForm(
  body: Readonly<Record<string, unknown>>,
  t: ModuleTranslate = moduleTranslator('fr'),
): { changes: Record<string, unknown>; errors: Record<string, string> } {
  const changes: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const check = (field: string, key: string, ok: (v: string) => boolean, why: ModuleMessageKey, optional = true) => {
    try {
      const v = text(body, field);
      if (v === '' && optional) changes[key] = '';
      else if (!ok(v)) errors[field] = t(why);
      else changes[key] = v;
    } catch (e) {
      errors[field] = (e instanceof InputError && e.ref ? translateRef(t, e.ref) : null) ?? t('config.error.single');
    }
  };
  check('smbServer', SMB_KEYS.server, isSmbServer, 'config.error.smbServer');
  check('smbShare', SMB_KEYS.share, (v) => SHARE.test(v), 'config.error.smbShare');
  check('smbSubdir', SMB_KEYS.subdir, (v) => v.split('/').every((s) => SEGMENT.test(s)) && v.length <= 200,
    'config.error.smbSubdir');
  check('smbUser', SMB_KEYS.user, (v) => USER.test(v), 'config.error.smbUser');
  check('smbDomain', SMB_KEYS.domain, (v) => DOMAIN.test(v), 'config.error.smbDomain');
  const pw = body.smbPassword;
  if (body.smbPasswordClear === '1') changes[SMB_KEYS.password] = null;
  else if (typeof pw === 'string' && pw !== '') {
    if (PASSWORD.test(pw)) changes[SMB_KEYS.password] = pw;
    else errors.smbPassword = t('config.error.smbPassword');
  } else if (pw !== undefined && typeof pw !== 'string') errors.smbPassword = t('config.error.single');
  if (!errors.smbServer && !errors.smbShare && (changes[SMB_KEYS.server] === '') !== (changes[SMB_KEYS.share] === '')) {
    errors[changes[SMB_KEYS.server] === '' ? 'smbServer' : 'smbShare'] = t('config.error.smbPair');
  }
  return { changes, errors };
}

/** The configured share, or null when there is none (server or share missing, or a value unusable). */
export function smbConfigOf(settings: { getOr<T>(key: string, fallback: T): T }): SmbConfig | null {
  const s = (k: string) => {
    const v = settings.getOr<unknown>(k, '');
    return typeof v === 'string' ? v : '';
  };
  const c: SmbConfig = { server: s(SMB_KEYS.server), share: s(SMB_KEYS.share), subdir: s(SMB_KEYS.subdir), user: s(SMB_KEYS.user),
    domain: s(SMB_KEYS.domain), password: s(SMB_KEYS.password) };
  const { errors } = parseSmbForm({ smbServer: c.server, smbShare: c.share, smbSubdir: c.subdir, smbUser: c.user, smbDomain: c.domain,
    smbPassword: c.password });
  if (!c.server || !c.share || Object.keys(errors).length) return null;
  return c;
}

/** What the config page may show: everything but the password (only whether one is stored). */
export function smbPublicView(settings: { getOr<T>(key: string, fallback: T): T }): Omit<SmbConfig, 'password'> & { hasPassword: boolean; ready: boolean } {
  const s = (k: string) => {
    const v = settings.getOr<unknown>(k, '');
    return typeof v === 'string' ? v : '';
  };
  return { server: s(SMB_KEYS.server), share: s(SMB_KEYS.share), subdir: s(SMB_KEYS.subdir), user: s(SMB_KEYS.user), domain: s(SMB_KEYS.domain),
    hasPassword: s(SMB_KEYS.password) !== '', ready: smbConfigOf(settings) !== null };
}

/** The agent's credentials answer: key=value lines (agent-smb.sh reads them with `read -r`). */
export function renderSmbCredentials(c: SmbConfig, macDashed: string): string {
  return [`server=${c.server}`, `share=${c.share}`, `subdir=${c.subdir}`, `dir=${macDashed}`, `username=${c.user}`, `domain=${c.domain}`,
    `password=${c.password}`, ''].join('\n');
}
