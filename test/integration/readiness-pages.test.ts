/**
 * Issue 16 item 1: a fresh install says what is missing and refuses actions that cannot run,
 * in French with the fix, before anyone is woken; the job toolkit is chosen on the page; the
 * maintenance menu offers only what a toolkit can run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { installFakeToolkit, loggedIn, startTestShell, type TestShell } from '../helpers/test-shell';

const M = '/modules/clonage';

describe('readiness on a fresh install (no boot environment)', () => {
  let shell: TestShell;
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'], bare: true });
  });
  afterAll(async () => shell?.stopAndClean());

  test('the Configuration page shows the checklist: job environment missing, with the fix; loaders, TFTP, DHCP, store', async () => {
    const admin = await loggedIn(shell, 'admin');
    const page = (await admin.get(`${M}/config`)).text;
    expect(page).toMatch(/id="readiness" data-overall="bad"/);
    expect(page).toMatch(/data-check="job-toolkit" data-level="bad"/);
    expect(page).toContain('L’environnement « clonage » n’est pas installé');
    expect(page).toContain('Construire l’environnement clonage');
    for (const id of ['boot-bios', 'boot-uefi', 'tftp', 'dhcp', 'image-store']) expect(page).toMatch(new RegExp(`data-check="${id}" data-level="(ok|warn|bad)"`));
    // the test shell writes its dnsmasq config at start with the module's PXE options
    expect(page).toMatch(/data-check="dhcp" data-level="ok"/);
    // the embedded TFTP port is not 69: a warning with the fix, never "ok"
    expect(page).toMatch(/data-check="tftp" data-level="warn"/);
    expect(page).toMatch(/Gio libres sur/);
  });

  test('the wizard refuses a backup in French with the fix, nothing is created and nobody woken', async () => {
    const admin = await loggedIn(shell, 'admin');
    const csrf = await admin.csrf(`${M}/actions/new?parc=salle101`);
    const form = { _csrf: csrf, type: 'backup', parc: 'salle101', machine: 's101-pc01', disk: 'sda', compression: 'zstd', auto_reboot: 'always', start: 'now' };
    for (const extra of [{}, { confirm: '1' }] as Record<string, string>[]) {
      const r = await admin.post(`${M}/actions`, { ...form, ...extra });
      expect(r.status).toBe(400);
      expect(r.text).toContain('Action impossible : l’environnement de démarrage « clonage » n’est pas installé');
      expect(r.text).toContain('Solution');
    }
    expect(shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual({ n: 0 });
    expect(shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_boot_plans').get()).toEqual({ n: 0 });
  });

  test('in English too', async () => {
    const admin = await loggedIn(shell, 'admin');
    const csrf = await admin.csrf('/');
    await admin.post('/locale', { _csrf: csrf, locale: 'en', next: '/' });
    const page = (await admin.get(`${M}/config`)).text;
    expect(page).toContain('The boot environment “clonage” is not installed');
    await admin.post('/locale', { _csrf: await admin.csrf('/'), locale: 'fr', next: '/' });
  });

  test('the job toolkit: only an installed one with the agent is accepted; then the checklist turns green for it', async () => {
    const admin = await loggedIn(shell, 'admin');
    const csrf = await admin.csrf(`${M}/config`);
    const bad = await admin.post(`${M}/config/job-toolkit`, { _csrf: csrf, jobToolkit: 'sysrescue' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Choisissez un environnement installé qui contient l’agent de clonage.');
    // a downloaded rescue system claiming agent and manual entries: only the shell is offered
    const dir = path.join(shell.dataDir, 'modules/clonage/toolkits/sysrescue');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'vmlinuz'), 'K');
    fs.writeFileSync(path.join(dir, 'initrd.img'), 'I');
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ name: 'sysrescue', version: '11', entries: ['shell', 'sender', 'backup', 'restore'], kernel: 'vmlinuz', initrd: 'initrd.img' }));
    installFakeToolkit(shell.dataDir);
    const page = (await admin.get(`${M}/config`)).text;
    expect(page).toMatch(/data-check="job-toolkit" data-level="ok"/);
    const row = /<tr data-toolkit="sysrescue">[\s\S]*?<\/tr>/.exec(page)![0];
    expect(row).toMatch(/non proposées[^<]*émetteur/);
    expect(row).toMatch(/sauvegarde/);
    expect(/<select name="jobToolkit">[\s\S]*?<\/select>/.exec(page)![0]).not.toContain('sysrescue');
    const ok = await admin.post(`${M}/config/job-toolkit`, { _csrf: csrf, jobToolkit: 'clonage' });
    expect(ok.status).toBe(303);
    const noAgent = await admin.post(`${M}/config/job-toolkit`, { _csrf: csrf, jobToolkit: 'sysrescue' });
    expect(noAgent.status).toBe(400);
  });

  test('rights: tech1 (parc_can_clone only) cannot read or change the configuration; a POST without CSRF is refused', async () => {
    const tech = await loggedIn(shell, 'tech1');
    expect((await tech.get(`${M}/config`)).status).toBe(403);
    expect((await tech.post(`${M}/config/job-toolkit`, { _csrf: await tech.csrf('/'), jobToolkit: 'clonage' })).status).toBe(403);
    const admin = await loggedIn(shell, 'admin');
    expect((await admin.post(`${M}/config/job-toolkit`, { jobToolkit: 'clonage' })).status).toBe(403);
  });
});
