/**
 * Configuration page, storage section (declared in src/settings/storage.ts): default target and
 * the SMB share, through the real shell (login, CSRF, system_is_admin). The SMB password is
 * write-only: saved when given, kept when blank, never rendered back (not even after an error).
 */
import * as fs from 'fs';
import { startTestShell, USERS, loggedIn, type TestShell } from '../helpers/test-shell';
import { moduleSettings } from '../helpers/hostile';

describe('configuration page: image storage and SMB share', () => {
  let shell: TestShell;
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
  });
  afterAll(async () => shell?.stopAndClean());
  const login = (who: keyof typeof USERS) => loggedIn(shell, who);
  const base = {
    'menu.mode': 'text', 'menu.timeoutSeconds': '5', 'menu.maintenancePasswordHash': '',
    'clone.disk': 'sda', 'clone.compression': 'zstd', 'clone.domain': 'none', 'clone.minWaitMinutes': '5', 'clone.maxWaitMinutes': '10', 'clone.startTimeoutMinutes': '30',
    'clone.autoReboot': 'success', 'backup.retention': 'keep-last-3', 'wake.method': 'wol',
    'backup.target': 'smb', 'smb.server': 'se3.lycee.local', 'smb.share': 'sauvegardes$', 'smb.subdir': 'clonage/postes', 'smb.user': 'clonage',
    'smb.domain': 'LYCEE', 'smb.password': 'S3cret-Pw!',
  };
  // Raw JSON as stored, except the password: sealed in the database (secret-box.ts), read back opened.
  const setting = (k: string) =>
    k === 'smb.password'
      ? JSON.stringify(moduleSettings(shell.db).get(k))
      : (shell.db.prepare("SELECT value FROM shell_settings WHERE owner = 'clonage' AND key = ?").get(k) as { value: string } | undefined)?.value;

  test('saved when valid; the password is stored, never shown; blank keeps it', async () => {
    const admin = await login('admin');
    let csrf = await admin.csrf('/modules/clonage/config');
    expect((await admin.post('/modules/clonage/config', { ...base, _csrf: csrf })).status).toBe(303);
    expect([setting('backup.target'), setting('smb.server'), setting('smb.subdir'), setting('smb.password')])
      .toEqual(['"smb"', '"se3.lycee.local"', '"clonage/postes"', '"S3cret-Pw!"']);
    const page = await admin.get('/modules/clonage/config');
    expect(page.text).toContain('value="se3.lycee.local"');
    expect(page.text).toContain('une valeur est enregistrée');
    expect(page.text).not.toContain('S3cret-Pw!');
    csrf = await admin.csrf('/modules/clonage/config');
    expect((await admin.post('/modules/clonage/config', { ...base, 'smb.password': '', 'smb.share': 'images', _csrf: csrf })).status).toBe(303);
    expect([setting('smb.share'), setting('smb.password')]).toEqual(['"images"', '"S3cret-Pw!"']);
    // The wizard now offers the SMB share.
    const wizard = await admin.get('/modules/clonage/actions/new/params?parc=salle101&type=backup&machine=s101-pc01');
    expect(wizard.text).toMatch(/name="store" value="smb"/);
  });

  test('the page says per firmware mode which loader chain is offered (the set-up installed them all)', async () => {
    const admin = await login('admin');
    const page = (await admin.get('/modules/clonage/config')).text;
    expect(page).toMatch(/<tr data-mode="bios" data-ready="true"><td>BIOS<\/td><td data-chain="pxelinux">pxelinux \(syslinux\) \(<code>pxelinux\.0<\/code>\)/);
    expect(page).toMatch(/<tr data-mode="uefi" data-ready="true"><td>UEFI<\/td><td data-chain="secureboot">shim, GRUB et noyau signés \(<code>bootx64\.efi<\/code>\)/);
    expect(shell.logLines.some((l) => l.includes('"msg":"boot service started"') && l.includes('"missing":[]'))).toBe(true);
  });

  test('switching the UEFI chain to iPXE offers snponly.efi to UEFI PCs in the DHCP configuration at once, and back', async () => {
    const admin = await login('admin');
    const dhcp = () => fs.readFileSync(shell.dhcp.api.configPath, 'utf8');
    const uefiBootFile = () => /^dhcp-boot=tag:!ipxe,tag:efi-x86_64,([^,]+),/m.exec(dhcp())?.[1];
    expect(uefiBootFile()).toBe('bootx64.efi');
    for (const chain of ['ipxe', 'secureboot']) {
      const csrf = await admin.csrf('/modules/clonage/config');
      expect((await admin.post('/modules/clonage/config', { _csrf: csrf, 'boot.uefiChain': chain })).status).toBe(303);
      expect([chain, uefiBootFile()]).toEqual([chain, chain === 'ipxe' ? 'snponly.efi' : 'bootx64.efi']);
    }
  });

  test('a store=smb backup through the wizard: the password is in no page, log line or job', async () => {
    const admin = await login('admin');
    const csrf = await admin.csrf('/modules/clonage/actions/new/params?parc=salle101&type=backup&machine=s101-pc01');
    const r = await admin.post('/modules/clonage/actions', { _csrf: csrf, type: 'backup', parc: 'salle101', machine: 's101-pc01', store: 'smb', image: 'img_smb',
      disk: 'sda', compression: 'zstd', auto_reboot: 'never', start: 'now', confirm: '1' });
    expect([r.status, r.status === 303 ? '' : r.text.match(/field-error[^<]*<?[^<]*/g)]).toEqual([303, '']);
    const params = (shell.db.prepare("SELECT params_json AS p FROM clonage_actions ORDER BY rowid DESC LIMIT 1").get() as { p: string }).p;
    expect(JSON.parse(params)).toMatchObject({ type: 'backup', store: 'smb', image: 'img_smb' });
    for (const page of ['/modules/clonage/actions', '/modules/clonage/config', '/modules/clonage/reports']) {
      expect((await admin.get(page)).text).not.toContain('S3cret-Pw!');
    }
    expect(shell.logLines.join('\n')).not.toContain('S3cret-Pw!');
  });

  test('invalid values are refused field by field, nothing saved, the typed password not echoed', async () => {
    const admin = await login('admin');
    const csrf = await admin.csrf('/modules/clonage/config');
    const r = await admin.post('/modules/clonage/config', { ...base, 'smb.server': 'se3;reboot', 'smb.share': 'a/b', 'smb.subdir': '../etc', 'smb.user': 'a b',
      'smb.password': 'Other,Pw', 'backup.target': 'tape', _csrf: csrf });
    expect(r.status).toBe(400);
    for (const f of ['smb.server', 'smb.share', 'smb.subdir', 'smb.user', 'smb.password', 'backup.target']) expect(r.text).toContain(`data-field="${f}"`);
    expect(r.text).not.toContain('Other,Pw');
    expect(r.text).not.toContain('S3cret-Pw!');
    expect([setting('smb.server'), setting('smb.password')]).toEqual(['"se3.lycee.local"', '"S3cret-Pw!"']);
  });

  test('only system_is_admin, with the CSRF token', async () => {
    const tech = await login('tech1');
    expect((await tech.post('/modules/clonage/config', { ...base, _csrf: 'x' })).status).toBe(403);
    const admin = await login('admin');
    expect((await admin.post('/modules/clonage/config', { ...base, 'smb.password': 'Stolen' })).status).toBe(403);
    expect(setting('smb.password')).toBe('"S3cret-Pw!"');
  });
});
