/**
 * The Configuration page built from the settings schemas (src/settings/), through the real shell
 * (login, CSRF, system_is_admin): every declared setting is on the page, grouped per feature;
 * posting valid, invalid (per field, French and English) and blank-password forms; the domain
 * accounts' "tester le compte" against a real smbd on 127.0.0.1 (test/helpers/smbd.ts).
 */
import { ALL_SETTINGS, SETTINGS_GROUPS } from '../../src/settings/schema';
import { checkSmbAccount } from '../../src/samba/account-check';
import { type CommandRunner, execFileRunner } from '../../src/samba/samba-command';
import type { PageClient } from '../helpers/browserless-client';
import { type RunningSmbd, SMB_PASSWORD, SMB_USER, SMB_WORKGROUP, smbdInstalled, startSmbd } from '../helpers/smbd';
import { loggedIn, startTestShell, type TestShell } from '../helpers/test-shell';
import { moduleSettings } from '../helpers/hostile';

const M = '/modules/clonage';

describe('configuration page: every declared setting, per feature', () => {
  let shell: TestShell;
  let fr: PageClient;
  let en: PageClient;
  // Read through the shell's store: the passwords are sealed in the database (secret-box.ts), read back opened.
  const setting = (k: string) => moduleSettings(shell.db).get(k);
  const raw = (k: string) => (shell.db.prepare("SELECT value FROM shell_settings WHERE owner = 'clonage' AND key = ?").get(k) as { value: string }).value;
  const post = async (c: PageClient, form: Record<string, string>) => c.post(`${M}/config`, { ...form, _csrf: await c.csrf(`${M}/config`) });

  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
    fr = await loggedIn(shell, 'admin');
    en = await loggedIn(shell, 'admin');
    const r = await en.post('/locale', { _csrf: await en.csrf('/'), locale: 'en', next: '/' });
    expect(r.status).toBe(303);
  });
  afterAll(async () => shell?.stopAndClean());

  it('shows every setting an admin may change, in its feature\'s fieldset, in French and English', async () => {
    const [f, e] = [(await fr.get(`${M}/config`)).text, (await en.get(`${M}/config`)).text];
    for (const g of SETTINGS_GROUPS) {
      expect(f).toContain(`<fieldset id="settings-${g.id}">`);
      const fieldset = new RegExp(`<fieldset id="settings-${g.id}">[\\s\\S]*?</fieldset>`).exec(f)![0];
      for (const s of Object.values(g.settings)) {
        const shown = fieldset.includes(`name="${s.key}"`);
        expect([s.key, shown]).toEqual([s.key, s.field.kind !== 'hidden']);
      }
    }
    expect(ALL_SETTINGS.filter((s) => s.field.kind === 'hidden').map((s) => s.key).sort())
      .toEqual(['menu.maintenancePasswordPbkdf2', 'netlogon.smb.configFile', 'toolkit.default']);
    expect(f).toContain('<legend>Intégration des clones au domaine</legend>');
    expect(e).toContain('<legend>Joining the clones to the domain</legend>');
    expect(f).toContain('Tester le compte enregistré');
    expect(e).toContain('Test the saved account');
    // password inputs are never filled
    expect(f).not.toMatch(/type="password"[^>]*value=/);
  });

  it('saves the domain accounts; a blank password keeps the stored one, which is never shown; the clear box removes it', async () => {
    const form = {
      'netlogon.destination': 'smb', 'netlogon.smb.server': 'se3.lycee.lan', 'netlogon.smb.share': 'netlogon', 'netlogon.smb.username': 'clonage',
      'netlogon.smb.domain': 'LYCEE', 'netlogon.smb.password': 'N3tl0gon pw', 'netlogon.smb.port': '',
      'postclone.join.domain': 'lycee.lan', 'postclone.join.username': 'joiner', 'postclone.join.password': 'J0in pw',
      'wake.method': 'wol+reboot', 'wake.rpc.username': 'adminse3', 'wake.rpc.domain': 'LYCEE', 'wake.rpc.password': 'Rpc-pw',
    };
    expect((await post(fr, form)).status).toBe(303);
    expect([setting('netlogon.smb.password'), setting('postclone.join.password'), setting('wake.rpc.password'), setting('netlogon.smb.port')])
      .toEqual(['N3tl0gon pw', 'J0in pw', 'Rpc-pw', null]);
    const page = (await fr.get(`${M}/config`)).text;
    for (const pw of ['N3tl0gon pw', 'J0in pw', 'Rpc-pw']) expect([page.includes(pw), raw(pw.startsWith('N') ? 'netlogon.smb.password' : pw.startsWith('J') ? 'postclone.join.password' : 'wake.rpc.password').includes(pw)]).toEqual([false, false]);
    expect(page.match(/une valeur est enregistrée/g)!.length).toBe(3);
    // blank: kept
    expect((await post(fr, { ...form, 'netlogon.smb.password': '', 'postclone.join.password': '', 'wake.rpc.password': '', 'netlogon.smb.share': 'netlogon2' })).status).toBe(303);
    expect([setting('netlogon.smb.share'), setting('netlogon.smb.password'), setting('postclone.join.password'), setting('wake.rpc.password')])
      .toEqual(['netlogon2', 'N3tl0gon pw', 'J0in pw', 'Rpc-pw']);
    // clear: removed
    expect((await post(fr, { 'wake.rpc.password:clear': '1', 'wake.rpc.username': '' })).status).toBe(303);
    expect([setting('wake.rpc.password'), setting('wake.rpc.username'), setting('postclone.join.password')]).toEqual([null, '', 'J0in pw']);
    expect(shell.logLines.join('\n')).not.toMatch(/N3tl0gon|J0in pw|Rpc-pw/);
  });

  const INVALID: [string, string, string, string][] = [
    // field, value, French message, English message
    ['netlogon.smb.server', 'se3;reboot', 'un nom de machine (lettres, chiffres, « - », « . ») ou une adresse IPv4', 'a host name'],
    ['netlogon.smb.username', '-U', 'un identifiant : lettres, chiffres, « . _ $ - »', 'an account name: letters, digits, ". _ $ -"'],
    ['netlogon.smb.password', ' leading', 'sans caractère de contrôle ni espace au début', 'no leading blank'],
    ['netlogon.smb.port', '70000', 'un port entre 1 et 65535', 'a port from 1 to 65535'],
    ['netlogon.localRoot', '/srv/../etc', 'un chemin absolu, sans « .. »', 'an absolute path, without ".."'],
    ['postclone.join.password', 'a\nb=c', '1 à 200 caractères, sans caractère de contrôle', '1 to 200 characters, no control character'],
    ['postclone.validHours', '0', 'un nombre entier entre 1 et 720', 'a whole number from 1 to 720'],
    ['wake.rpc.domain', 'LY CEE', 'un nom de domaine : lettres, chiffres, « . - »', 'a domain name: letters, digits, ". -"'],
    ['clone.disk', 'sda1;reboot', 'un disque entier : sda, hdb, vda, nvme0n1, mmcblk0', 'a whole disk: sda, hdb, vda, nvme0n1, mmcblk0'],
    ['clone.maxBitrate', 'fast', 'par exemple 600m, ou vide', 'expected e.g. 600m or empty'],
    ['action.armedTimeoutMinutes', '0', 'un nombre entier entre 1 et 1440', 'a whole number from 1 to 1440'],
    ['tftp.bindAddress', '10.0.0.256', 'une adresse IPv4', 'an IPv4 address'],
    ['boot.ipxeHttpScript', 'maybe', 'valeur refusée', 'value refused'],
    ['menu.timeoutSeconds', '601', 'un nombre entier de secondes entre 0 et 600', 'a whole number of seconds between 0 and 600'],
  ];

  it.each(INVALID)('%s = %j is refused next to its field, in French and English, and nothing is saved', async (key, value, frMsg, enMsg) => {
    const before = setting(key);
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
    // a valid change beside it is not saved either
    const [f, e] = [await post(fr, { [key]: value, 'deploy.interface': 'eth9' }), await post(en, { [key]: value, 'deploy.interface': 'eth9' })];
    expect([f.status, e.status]).toEqual([400, 400]);
    const msg = (html: string) => new RegExp(`data-field="${key.replace(/\./g, '\\.')}">([^<]*)<`).exec(html)?.[1] ?? '';
    expect(msg(f.text)).toContain(esc(frMsg));
    expect(msg(e.text)).toContain(esc(enMsg));
    expect(setting(key)).toEqual(before);
    expect(setting('deploy.interface')).toBe('br0');
    if (key.endsWith('password')) expect(f.text).not.toContain(value.trim());
  });

  it('rules between fields: join all-or-none, netlogon smb needs a server', async () => {
    const r = await post(fr, { 'postclone.join.domain': '', 'postclone.join.username': 'joiner', 'netlogon.destination': 'smb', 'netlogon.smb.server': '' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('data-field="postclone.join.domain">domaine, compte et mot de passe vont ensemble<');
    expect(r.text).toContain('data-field="netlogon.smb.server">indiquer le serveur du partage<');
  });

  it('only system_is_admin, with the CSRF token, for the form and the account tests', async () => {
    const tech = await loggedIn(shell, 'tech1');
    expect((await tech.post(`${M}/config`, { 'wake.rpc.username': 'x', _csrf: await tech.csrf('/') })).status).toBe(403);
    expect((await tech.post(`${M}/config/accounts/netlogon/test`, { _csrf: await tech.csrf('/') })).status).toBe(403);
    expect((await fr.post(`${M}/config/accounts/netlogon/test`, {})).status).toBe(403);
    expect((await fr.post(`${M}/config`, { 'wake.rpc.username': 'x' })).status).toBe(403);
    expect((await fr.post(`${M}/config/accounts/nope/test`, { _csrf: await fr.csrf('/') })).status).toBe(404);
  });
});

const d = smbdInstalled() && process.getuid?.() === 0 ? describe : describe.skip;

d('"tester le compte" against a real smbd', () => {
  let smbd: RunningSmbd;
  let shell: TestShell;
  let fr: PageClient;
  let en: PageClient;
  const post = async (c: PageClient, path: string, form: Record<string, string>) => c.post(`${M}${path}`, { ...form, _csrf: await c.csrf(`${M}/config`) });
  const result = (html: string, account: string) =>
    new RegExp(`data-account="${account}">[\\s\\S]*?<p class="account-result[^"]*" role="status" data-result="(ok|error)">([^<]*)<`).exec(html)?.slice(1) ?? [];

  beforeAll(async () => {
    smbd = await startSmbd();
    // the client's smb.conf is a hidden setting (a server path, never offered on the page)
    shell = await startTestShell({ moduleSettings: { clonage: { 'tftp.port': 0, 'tftp.bindAddress': '127.0.0.1', 'netlogon.smb.configFile': smbd.configFile } } },
      { autoEnable: ['clonage'] });
    fr = await loggedIn(shell, 'admin');
    en = await loggedIn(shell, 'admin');
    expect((await en.post('/locale', { _csrf: await en.csrf('/'), locale: 'en', next: '/' })).status).toBe(303);
    const saved = await post(fr, '/config', {
      'netlogon.destination': 'smb', 'netlogon.smb.server': '127.0.0.1', 'netlogon.smb.share': 'netlogon', 'netlogon.smb.port': String(smbd.port),
      'netlogon.smb.username': SMB_USER, 'netlogon.smb.domain': SMB_WORKGROUP, 'netlogon.smb.password': SMB_PASSWORD,
      'postclone.join.domain': SMB_WORKGROUP, 'postclone.join.username': SMB_USER, 'postclone.join.password': SMB_PASSWORD,
      'wake.rpc.username': SMB_USER, 'wake.rpc.password': 'not-the-password',
    });
    expect(saved.status).toBe(303);
  });
  afterAll(async () => {
    await shell?.stopAndClean();
    await smbd?.stop();
  });

  it('netlogon share account: accepted, in French and English', async () => {
    expect(result((await post(fr, '/config/accounts/netlogon/test', {})).text, 'netlogon')).toEqual(['ok', 'Le compte est accepté par 127.0.0.1.']);
    expect(result((await post(en, '/config/accounts/netlogon/test', {})).text, 'netlogon')).toEqual(['ok', '127.0.0.1 accepts the account.']);
  });

  it('domain join account, checked on the server the admin names', async () => {
    expect(result((await post(fr, '/config/accounts/join/test', { server: '127.0.0.1' })).text, 'join')).toEqual(['ok', 'Le compte est accepté par 127.0.0.1.']);
  });

  it('a wrong password is said to be refused; a missing one is incomplete; a bad server typed is refused before any process', async () => {
    expect(result((await post(fr, '/config/accounts/rpc/test', { server: '127.0.0.1' })).text, 'rpc'))
      .toEqual(['error', '127.0.0.1 refuse ce compte ou ce mot de passe.']);
    expect(result((await post(en, '/config/accounts/rpc/test', { server: '127.0.0.1' })).text, 'rpc'))
      .toEqual(['error', '127.0.0.1 refuses this account or password.']);
    expect(result((await post(fr, '/config/accounts/rpc/test', { server: 'x;reboot' })).text, 'rpc')).toEqual(['error', 'Indiquez le serveur à interroger.']);
    expect(result((await post(fr, '/config/accounts/smb/test', {})).text, 'smb'))
      .toEqual(['error', "Compte incomplet : enregistrez d'abord le compte et son mot de passe.".replace(/'/g, '&#39;')]);
    expect(shell.logLines.join('\n')).not.toContain(SMB_PASSWORD);
  });

  it('the password never reaches argv: smbclient reads a 0600 auth file', async () => {
    const argvs: string[][] = [];
    const counting: CommandRunner = (file, args, options) => {
      argvs.push([file, ...args]);
      return execFileRunner(file, args, options);
    };
    const creds = { username: SMB_USER, password: SMB_PASSWORD, domain: SMB_WORKGROUP };
    const target = { server: '127.0.0.1', share: 'netlogon', port: smbd.port, configFile: smbd.configFile };
    expect(await checkSmbAccount(creds, target, { runner: counting })).toBe('ok');
    expect(await checkSmbAccount(creds, { ...target, share: 'nosuchshare' }, { runner: counting })).toBe('not-found');
    expect(await checkSmbAccount({ ...creds, password: 'wrong-pw' }, { ...target, share: null }, { runner: counting })).toBe('auth');
    expect(argvs).toHaveLength(3);
    expect(argvs.flat().join(' ')).not.toContain(SMB_PASSWORD);
    expect(argvs[0]).toEqual(['smbclient', '//127.0.0.1/netlogon', '-A', expect.stringMatching(/clonage-auth-.*\/auth$/), '-p', String(smbd.port), '-s', smbd.configFile, '-c', 'ls']);
  });
});
