/**
 * The Configuration page's form from the schemas (src/settings/config-form.ts), table-driven, and
 * the per-admin wizard preferences' own table with the move of the old wizard.<login>.* settings.
 */
import Database from 'better-sqlite3';
import { configView, parseConfigForm } from '../../src/settings/config-form';
import { manifestDefaults } from '../../src/settings/schema';
import { moduleTranslator } from '../../src/i18n/module-messages';
import { verifyMenuPassword } from '../../src/boot/menu-password';
import { verifyGrubPassword } from '../../src/boot/grub-password';
import { migrateClonage } from '../../src/store/clonage-schema';
import { AdminDefaults } from '../../src/http/admin/admin-defaults';
import { paramDefaultsFrom } from '../../src/actions/params/action-params';
import { MemorySettings } from '../helpers/fake-host';

const fr = moduleTranslator('fr');
const en = moduleTranslator('en');
const stored = (values: Record<string, unknown> = {}) => new MemorySettings({ ...manifestDefaults(), ...values });

describe('parseConfigForm', () => {
  const VALID: [string, Record<string, string>, Record<string, unknown>][] = [
    // what was posted, what is saved
    ['a field absent keeps its value: only what is posted changes', { 'menu.mode': 'graphical' }, { 'menu.mode': 'graphical' }],
    ['numbers from digits, trimmed', { 'menu.timeoutSeconds': ' 12 ', 'netlogon.smb.port': '4450' }, { 'menu.timeoutSeconds': 12, 'netlogon.smb.port': 4450 }],
    ['blank optional number is null', { 'netlogon.smb.port': '' }, { 'netlogon.smb.port': null }],
    ['booleans from a select', { 'boot.ipxeHttpScript': 'false', 'emitter.uefiPxeOnce': 'true' }, { 'boot.ipxeHttpScript': false, 'emitter.uefiPxeOnce': true }],
    ['blank password keeps the stored one', { 'smb.password': '', 'wake.rpc.password': '' }, {}],
    ['a password is kept as typed (blanks inside)', { 'postclone.join.domain': 'D', 'postclone.join.username': 'u', 'postclone.join.password': ' a b ' },
      { 'postclone.join.domain': 'D', 'postclone.join.username': 'u', 'postclone.join.password': ' a b ' }],
    ['clear box removes a password', { 'smb.password:clear': '1' }, { 'smb.password': null }],
    ['bitrate lowercased; blank is none', { 'clone.maxBitrate': '600M', 'deploy.maxBitrate': '' }, { 'clone.maxBitrate': '600m', 'deploy.maxBitrate': '' }],
    ['a hidden setting is never taken from a form', { 'netlogon.smb.configFile': '/etc/passwd', 'netlogon.smb.share': 'netlogon' }, { 'netlogon.smb.share': 'netlogon' }],
  ];
  it.each(VALID)('%s', (_why, body, changes) => {
    expect(parseConfigForm(body, stored(), fr)).toEqual({ changes, errors: {} });
  });

  const INVALID: [Record<string, string | string[]>, string, string, string][] = [
    // posted, refused key, French, English
    [{ 'clone.disk': ['sda', 'sdb'] }, 'clone.disk', 'une seule valeur', 'a single value'],
    [{ 'clone.minWaitMinutes': '30', 'clone.maxWaitMinutes': '5' }, 'clone.maxWaitMinutes', "l'attente maximale doit être au moins l'attente minimale", 'the maximum wait'],
    // the rule between fields uses the stored value of a field that was not posted
    [{ 'clone.startTimeoutMinutes': '10' }, 'clone.startTimeoutMinutes', 'le délai des récepteurs doit être au moins', 'at least'],
    [{ 'smb.server': 'se3' }, 'smb.share', 'le serveur et le partage vont ensemble', 'go together'],
    [{ 'menu.maintenancePasswordHash': 'accentué-pw' }, 'menu.maintenancePasswordHash', 'seuls les caractères ASCII', 'ASCII'],
    [{ 'menu.timeoutSeconds': '1e2' }, 'menu.timeoutSeconds', 'un nombre entier de secondes entre 0 et 600', 'between 0 and 600'],
    [{ 'wake.rpc.password': 'pw' }, 'wake.rpc.username', 'indiquer le compte de ce mot de passe', "give this password's account"],
    [{ 'wake.method': 'magic' }, 'wake.method', 'méthode de réveil inconnue', 'wake'],
  ];
  it.each(INVALID)('%j is refused at %s, in French and English, nothing to save', (body, key, frText, enText) => {
    const f = parseConfigForm(body, stored(), fr);
    expect(f.errors[key]).toContain(frText);
    expect(parseConfigForm(body, stored(), en).errors[key]?.toLowerCase()).toContain(enText.toLowerCase());
  });

  it('the maintenance password is stored as a hash only', () => {
    const { changes } = parseConfigForm({ 'menu.maintenancePasswordHash': 'secret1234' }, stored(), fr);
    const hash = changes['menu.maintenancePasswordHash'] as string;
    expect(hash).toMatch(/^\$6\$/);
    expect(verifyMenuPassword('secret1234', hash)).toBe(true);
    // the network GRUB gets its own PBKDF2 hash of the same password; clearing clears both
    expect(verifyGrubPassword('secret1234', changes['menu.maintenancePasswordPbkdf2'] as string)).toBe(true);
    expect(parseConfigForm({ 'menu.maintenancePasswordHash:clear': '1' }, stored(), fr).changes)
      .toEqual({ 'menu.maintenancePasswordHash': null, 'menu.maintenancePasswordPbkdf2': null });
  });
});

describe('configView', () => {
  it('never carries a password, stored or posted; says whether one is stored', () => {
    const groups = configView(stored({ 'smb.password': 'S3cret', 'wake.rpc.password': 'Rpc' }), en, { 'smb.password': 'Typed', 'smb.server': 'typed-server' });
    const text = JSON.stringify(groups);
    for (const secret of ['S3cret', 'Rpc', 'Typed']) expect(text).not.toContain(secret);
    const field = (key: string) => groups.flatMap((g) => g.fields).find((f) => f.key === key)!;
    expect(field('smb.password')).toMatchObject({ kind: 'password', value: '', stored: true });
    expect(field('netlogon.smb.password')).toMatchObject({ stored: false });
    expect(field('smb.server').value).toBe('typed-server');
    expect(field('clone.compression').options.find((o) => o.selected)).toEqual({ value: 'zstd', label: 'zstd', selected: true });
    expect(groups.flatMap((g) => g.fields).some((f) => f.key === 'netlogon.smb.configFile')).toBe(false);
    expect(groups.filter((g) => g.account).map((g) => [g.id, g.account])).toEqual([['storage', 'smb'], ['wake', 'rpc'], ['netlogon', 'netlogon'], ['join', 'join']]);
  });
});

describe('per-admin wizard preferences: their own table', () => {
  it('moves the old wizard.<login>.* settings once, then reads and remembers per admin', () => {
    const db = new Database(':memory:');
    migrateClonage(db);
    const settings = stored({ 'wizard.jean.dupont.clone.compression': 'lzop', 'wizard.jean.dupont.clone.minWaitMinutes': 3, 'wizard.x.clone.unknown': 'y',
      'clone.disk': 'sdb' });
    const defaults = new AdminDefaults(db, settings);
    expect(defaults.importLegacy()).toBe(2);
    expect(Object.keys(settings.all()).filter((k) => k.startsWith('wizard.'))).toEqual([]);
    expect(defaults.importLegacy()).toBe(0);
    const jean = paramDefaultsFrom(defaults.settingsFor('jean.dupont'));
    expect(jean).toMatchObject({ compression: 'lzop', minWaitMinutes: 3, disk: 'sdb' });
    expect(paramDefaultsFrom(defaults.settingsFor('other'))).toMatchObject({ compression: 'zstd', minWaitMinutes: 10, disk: 'sdb' });
    defaults.remember('other', { disk: 'nvme0n1', min_wait: '7', compression: 'xz' });
    expect(paramDefaultsFrom(defaults.settingsFor('other'))).toMatchObject({ disk: 'nvme0n1', minWaitMinutes: 7, compression: 'zstd' });
    expect(db.prepare('SELECT login, key, value FROM clonage_admin_defaults ORDER BY login, key').all()).toEqual([
      { login: 'jean.dupont', key: 'clone.compression', value: '"lzop"' }, { login: 'jean.dupont', key: 'clone.minWaitMinutes', value: '3' },
      { login: 'other', key: 'clone.disk', value: '"nvme0n1"' }, { login: 'other', key: 'clone.minWaitMinutes', value: '7' },
    ]);
  });
});
