import fs from 'node:fs';
import { PageClient } from '../helpers/browserless-client';
import { startTestShell, USERS, loggedIn, type TestShell } from '../helpers/test-shell';
import manifest from '../../module.json';

describe('standalone shell with the clonage module', () => {
  let shell: TestShell;
  beforeAll(async () => {
    shell = await startTestShell();
  });
  afterAll(async () => {
    await shell?.stopAndClean();
  });

  const client = (who: keyof typeof USERS) => loggedIn(shell, who);

  test('wrong password is refused and creates no session', async () => {
    const c = new PageClient(shell.url);
    expect(await c.login('admin', 'nope')).toBe(401);
    const home = await c.get('/');
    expect(home.status).toBe(303);
    expect(home.location).toMatch(/^\/login/);
  });

  test('an admin enables the module from the module page, running its hooks, and its menu appears', async () => {
    const admin = await client('admin');
    let page = await admin.get('/admin/modules');
    expect(page.text).toContain('Clonage des stations');
    expect(page.text).toMatch(/badge off">désactivé/);
    expect(page.text).not.toContain('/modules/clonage/actions/new');

    // no CSRF token: refused, still disabled
    const forged = await admin.post('/admin/modules/clonage/enable', {});
    expect(forged.status).toBe(403);
    expect(shell.modules.list()[0].enabled).toBe(false);

    const csrf = await admin.csrf('/admin/modules');
    const r = await admin.post('/admin/modules/clonage/enable', { _csrf: csrf });
    expect(r.status).toBe(303);
    page = await admin.get('/admin/modules');
    expect(page.text).toMatch(/badge on">activé/);
    for (const e of manifest.menu) expect(page.text).toContain(`/modules/clonage${e.path}`);
    // install hook ran: the module's data folders exist and its tables were created
    expect(fs.existsSync(`${shell.dataDir}/modules/clonage/tftproot`)).toBe(true);
    expect(shell.db.prepare("SELECT name FROM sqlite_master WHERE name = 'clonage_actions'").get()).toBeTruthy();
  });

  test('every menu path of the manifest serves a page to a user holding its right', async () => {
    const admin = await client('admin');
    for (const e of manifest.menu) {
      const r = await admin.get(`/modules/clonage${e.path}`);
      expect([e.path, r.status]).toEqual([e.path, 200]);
      expect(r.text).toContain(`<h1>`);
    }
  });

  test('menu entries follow rights: parc_can_clone holders see actions, only admins see configuration', async () => {
    const tech = await client('tech1');
    const home = await tech.get('/');
    expect(home.text).toContain('/modules/clonage/actions/new');
    expect(home.text).not.toContain('/modules/clonage/config');
    expect(home.text).not.toContain('/admin/modules');
    expect((await tech.get('/modules/clonage/config')).status).toBe(403);
    expect((await tech.get('/admin/modules')).status).toBe(403);

    const prof = await client('prof1'); // right through the Profs group
    expect((await prof.get('/')).text).toContain('/modules/clonage/actions/new');

    const eleve = await client('eleve1');
    const ehome = await eleve.get('/');
    expect(ehome.status).toBe(200);
    expect(ehome.text).not.toContain('/modules/clonage/');
    expect((await eleve.get('/modules/clonage/actions/new')).status).toBe(403);
  });

  test('parcs and machines of the bundled LDIF are listed', async () => {
    const admin = await client('admin');
    const parcs = await admin.get('/parcs');
    for (const p of ['salle101', 'cdi', 'profs']) expect(parcs.text).toContain(`/parcs/${p}`);
    const s101 = await admin.get('/parcs/salle101');
    expect(s101.text).toContain('s101-pc01');
    expect(s101.text).toContain('52:54:00:12:00:0b');
  });

  test('the wizard lists only delegated parcs for a delegated admin, and refuses others', async () => {
    const tech = await client('tech1');
    const step1 = await tech.get('/modules/clonage/actions/new');
    expect(step1.text).toContain('value="salle101"');
    expect(step1.text).not.toContain('value="cdi"');
    const step2 = await tech.get('/modules/clonage/actions/new?parc=salle101');
    expect(step2.text).toContain('data-machine="s101-pc01"');
    // the computer with a malformed MAC is shown but not selectable, with the reason
    expect(step2.text).toMatch(/data-machine="s101-pc12" class="muted"/);
    expect((await tech.get('/modules/clonage/actions/new?parc=cdi')).status).toBe(403);
    const admin = await client('admin');
    expect((await admin.get('/modules/clonage/actions/new')).text).toContain('value="cdi"');
  });

  test('bad reservations get a clear field error and nothing is stored', async () => {
    const admin = await client('admin');
    const before = shell.dhcp.api.listReservations().length;
    const conf = fs.readFileSync(shell.dhcp.api.hostsPath, 'utf8');
    const csrf = await admin.csrf('/dhcp');
    const cases: Record<string, string>[] = [
      { name: 'newpc', ip: '10.77.0.50', mac: 'zz:zz:zz:zz:zz:zz' },
      { name: 'newpc', ip: '10.77.0.300', mac: '52:54:00:aa:bb:01' },
      { name: 'bad name;reboot', ip: '10.77.0.50', mac: '52:54:00:aa:bb:01' },
      { name: 'newpc', ip: '192.168.1.5', mac: '52:54:00:aa:bb:01' },
      { name: 's101-pc01', ip: '10.77.0.50', mac: '52:54:00:aa:bb:01' },
    ];
    for (const form of cases) {
      const r = await admin.post('/dhcp/reservations', { ...form, _csrf: csrf });
      expect([form, r.status]).toEqual([form, expect.any(Number)]);
      expect(r.status === 400 || r.status === 409).toBe(true);
      expect(r.text).toMatch(/class="field-error" data-field="(mac|ip|name)"/);
    }
    expect(shell.dhcp.api.listReservations().length).toBe(before);
    expect(fs.readFileSync(shell.dhcp.api.hostsPath, 'utf8')).toBe(conf);

    const ok = await admin.post('/dhcp/reservations', { name: 'newpc', ip: '10.77.0.50', mac: '52-54-00-AA-BB-01', _csrf: csrf });
    expect(ok.status).toBe(303);
    expect(shell.dhcp.api.listReservations().length).toBe(before + 1);
    expect(fs.readFileSync(shell.dhcp.api.hostsPath, 'utf8')).toContain('52:54:00:aa:bb:01');
  });

  test('disabling the module removes its menu and its routes', async () => {
    const admin = await client('admin');
    const csrf = await admin.csrf('/admin/modules');
    expect((await admin.post('/admin/modules/clonage/disable', { _csrf: csrf })).status).toBe(303);
    expect((await admin.get('/')).text).not.toContain('/modules/clonage/');
    expect((await admin.get('/modules/clonage/actions')).status).toBe(404);
    expect((await admin.post('/admin/modules/clonage/enable', { _csrf: csrf })).status).toBe(303);
    expect((await admin.get('/modules/clonage/actions')).status).toBe(200);
  });
});
