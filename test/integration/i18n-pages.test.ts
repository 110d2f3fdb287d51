/**
 * Every page of the real shell and of the clonage module, rendered for a French and an English
 * user: the English render holds none of a list of French UI words (and the reverse), so a page
 * that prints a string without t() fails here. Also: <html lang>, the language switch (CSRF,
 * remembered across logout/login), Accept-Language before any choice, translated form errors.
 */
import { loggedIn, startTestShell, type TestShell } from '../helpers/test-shell';
import type { PageClient } from '../helpers/browserless-client';
import { installFakeToolkit } from '../helpers/hostile';
import { MODULE_CATALOGS } from '../../src/i18n/module-messages';
import { SHELL_CATALOGS } from '../../src/shell/i18n/shell-messages';

const M = '/modules/clonage';
const MAC = '52:54:00:12:00:0b'; // s101-pc01 in test/fixtures/se3.ldif
const CLONE = { type: 'clone', parc: 'salle101', emitter: 's101-pc01', machine: ['s101-pc02', 's101-pc03'] };
/** Machines not taken by the action created first, so the wizard accepts them. */
const OTHER_CLONE = { type: 'clone', parc: 'salle101', emitter: 's101-pc04', machine: ['s101-pc05', 's101-pc06'] };
const REPORT = ['### disk sda', 'size=209715200', '### sfdisk -d sda', 'label: dos', 'device: /dev/sda', 'unit: sectors', 'sector-size: 512', '',
  '/dev/sda1 : start=2048, size=409600, type=83, bootable',
  // the storage partition's images (pages/partials/report-store.ejs)
  '### clonage-store', 'storage sda5', 'backup sda5 img_store 1767225600 1234567 complete', 'backup sda5 img_half 1767225600 1234 incomplete'].join('\n');

/** French UI words (as whole words) that an English page must not show. */
const FRENCH = [
  'Accueil', 'Déconnexion', 'Général', 'Parcs', 'Parc', 'Gestion des modules', 'Réservations DHCP', 'Nouvelle action', 'Consulter les actions',
  'Rapports et sauvegardes', 'Clonage des stations', 'Machines', 'Machine', 'Nom', 'État', 'Créée par', 'Début prévu', 'Durée', 'Paramètres',
  'Émetteur', 'émetteur', 'Récepteurs', 'récepteur', 'Disque', 'Redémarrage', 'Enregistrer', 'Environnements de démarrage', 'Sauvegardes',
  'Aucun', 'Aucune', 'Événements', 'Annuler', 'Filtrer', 'tous', 'réussie', 'planifiée', 'en attente', 'en cours', 'supprimer', 'Retour',
  'Erreur', 'Identifiant', 'Mot de passe', 'Se connecter', 'Bienvenue', 'Remarques', 'Adresse', 'Réserver', 'Serveur pédagogique',
  'Lancer', 'Vérifier', 'Modifier', 'immédiat', 'récurrent', 'Attente', 'Rapport', 'Taille', 'Emplacement', 'Système de fichiers',
  'Historique', 'Progression', 'Débit', 'Étape', 'Rôle', 'toujours', 'jamais', 'serveur', 'valide', 'supprimée', 'Activer', 'Désactiver',
  'activé', 'Dépendances', 'Langue', 'Délai', 'Menu PXE', 'Type de poste', 'Cible', 'Remarque', 'réservée', 'doit', 'choisir',
];
/** English UI words that a French page must not show. */
const ENGLISH = [
  'Home', 'Log out', 'Groups', 'Computers', 'Computer', 'New action', 'Reports and backups', 'Workstation cloning', 'Save', 'Cancel', 'Events',
  'Created by', 'Planned start', 'Duration', 'State', 'Name', 'Disk', 'Sender', 'Receivers', 'Parameters', 'Check', 'Launch', 'Back',
  'Welcome', 'Password', 'Remarks', 'Reserve', 'School server', 'scheduled', 'Filter', 'Size', 'Location', 'File system', 'History',
  'Error', 'Enable', 'Disable', 'enabled', 'Progress', 'Stage', 'Role', 'always', 'never', 'Boot environments', 'Change', 'Show', 'must',
  'choose', 'Language', 'Requires',
];

/**
 * Besides the hand lists: every catalog phrase (several words, no placeholder) that differs
 * between the languages, so a text copied as a literal into a page is caught too.
 */
function phrases(from: 'fr' | 'en'): string[] {
  const other = from === 'fr' ? 'en' : 'fr';
  return [MODULE_CATALOGS, SHELL_CATALOGS].flatMap((c) =>
    Object.entries(c[from] as Record<string, string>)
      .filter(([k, v]) => v !== (c[other] as Record<string, string>)[k] && /\S \S/.test(v) && !v.includes('{'))
      .map(([, v]) => v.replace(/^[+←] |[ :→]+$/g, '')),
  );
}
const FRENCH_PHRASES = phrases('fr');
/**
 * "MAC address" also appears in texts that stay English on purpose (directory problems on the
 * parc and wizard pages, value-type errors of src/domain: docs/i18n.md), so it cannot tell.
 */
const ENGLISH_PHRASES = phrases('en').filter((p) => p !== 'MAC address');

/**
 * What a reader sees: text between tags plus the attributes that are read aloud or shown
 * (aria-label, title, placeholder), entities decoded. Left out: scripts (codes as JSON keys),
 * <pre> and <code> (data) and the other language's name on the switch button. The event list
 * stays in: the events the server writes are translated too.
 */
function visibleText(page: string): string {
  // the switch button speaks the language it switches to (name and tooltip): not this page's text
  const html = page.replace(/<button[^>]*name="locale"[^>]*>[^<]*<\/button>/g, ' ');
  const attrs = [...html.matchAll(/\s(?:aria-label|title|placeholder)="([^"]*)"/g)].map((m) => m[1]);
  const text = html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<pre[\s\S]*?<\/pre>/g, ' ')
    .replace(/<code[\s\S]*?<\/code>/g, ' ')
    .replace(/<[^>]+>/g, ' ');
  return [text, ...attrs].join(' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function wordsIn(text: string, words: readonly string[]): string[] {
  return words.filter((w) => new RegExp(`(?<![\\p{L}])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}])`, 'u').test(text));
}

describe('pages in French and in English', () => {
  let shell: TestShell;
  let fr: PageClient;
  let en: PageClient;
  let actionId: string;

  const switchTo = async (c: PageClient, locale: string) => {
    const r = await c.post('/locale', { _csrf: await c.csrf('/'), locale, next: '/' });
    expect([r.status, r.location]).toEqual([303, '/']);
  };

  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'], beforeStart: installFakeToolkit });
    fr = await loggedIn(shell, 'admin');
    en = await loggedIn(shell, 'admin');
    await switchTo(en, 'en');
    const created = await fr.post(`${M}/actions`, { ...CLONE, confirm: '1', _csrf: await fr.csrf('/') });
    expect(created.status).toBe(303);
    actionId = created.location!.split('?')[0].split('/').pop()!;
    const now = new Date().toISOString();
    shell.db.prepare('INSERT INTO clonage_reports (mac, name, created_at, content) VALUES (?, ?, ?, ?)').run(MAC, 's101-pc01', now, REPORT);
    const backup = shell.db.prepare('INSERT INTO clonage_backups (mac, name, image, location, status, created_at, size_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)');
    backup.run(MAC, 's101-pc01', 'image_20260101', 'server', 'succeeded', now, 2_500_000_000);
    backup.run(MAC, 's101-pc01', 'image_20250101', 'server', 'deleted', now, 1_000);
  });
  afterAll(async () => {
    await shell?.stopAndClean();
  });

  const q = new URLSearchParams([['parc', 'salle101'], ['type', 'clone'], ['emitter', 's101-pc01'], ['machine', 's101-pc02']]).toString();
  const step3 = (type: string, extra: [string, string][] = []) =>
    new URLSearchParams([['parc', 'salle101'], ['type', type], ['machine', 's101-pc02'], ['machine', 's101-pc03'], ...extra]).toString();
  const PAGES: [string, (c: PageClient) => Promise<{ status: number; text: string }>, number][] = [
    ['home', (c) => c.get('/'), 200],
    ['parcs', (c) => c.get('/parcs'), 200],
    ['parc', (c) => c.get('/parcs/salle101'), 200],
    ['dhcp', (c) => c.get('/dhcp'), 200],
    ['dhcp field error', async (c) => c.post('/dhcp/reservations', { _csrf: await c.csrf('/'), name: 'x', ip: '10.77.0.61', mac: 'nope' }), 400],
    ['modules', (c) => c.get('/admin/modules'), 200],
    ['shell error page', (c) => c.get('/parcs/bad%20name!'), 400],
    ['wizard 1', (c) => c.get(`${M}/actions/new`), 200],
    ['wizard 2', (c) => c.get(`${M}/actions/new?parc=salle101`), 200],
    ['wizard 3', (c) => c.get(`${M}/actions/new/params?${q}`), 200],
    ['wizard 3 backup (store fields)', (c) => c.get(`${M}/actions/new/params?${step3('backup', [['store', 'partition']])}`), 200],
    ['wizard 3 restore (store fields)', (c) => c.get(`${M}/actions/new/params?${step3('restore', [['store', 'partition']])}`), 200],
    ['wizard 3 deploy', (c) => c.get(`${M}/actions/new/params?${step3('deploy')}`), 200],
    ['wizard store errors', async (c) => c.post(`${M}/actions`, { type: 'backup', parc: 'salle101', machine: ['s101-pc04'], store: 'partition', storage_part: 'sda', _csrf: await c.csrf('/') }), 400],
    ['wizard deploy errors', async (c) => c.post(`${M}/actions`, { type: 'deploy', parc: 'salle101', machine: ['s101-pc04', 's101-pc05'], source: 'nope', _csrf: await c.csrf('/') }), 400],
    ['wizard 4', async (c) => c.post(`${M}/actions`, { ...OTHER_CLONE, _csrf: await c.csrf('/') }), 200],
    ['wizard errors', async (c) => c.post(`${M}/actions`, { ...CLONE, min_wait: '30', max_wait: '5', disk: 'sda1', _csrf: await c.csrf('/') }), 400],
    ['actions', (c) => c.get(`${M}/actions`), 200],
    ['actions filtered', (c) => c.get(`${M}/actions?type=backup`), 200],
    ['action', (c) => c.get(`${M}/actions/${actionId}`), 200],
    ['reports', (c) => c.get(`${M}/reports`), 200],
    ['report', (c) => c.get(`${M}/reports/${MAC.replace(/:/g, '-')}`), 200],
    ['config', (c) => c.get(`${M}/config`), 200],
    ['config errors', async (c) => c.post(`${M}/config`, { _csrf: await c.csrf('/'), 'menu.mode': 'x', 'menu.timeoutSeconds': '9999', 'menu.maintenancePasswordHash': 'é', 'clone.disk': 'sda', 'clone.compression': 'zstd', 'clone.autoReboot': 'always', 'clone.domain': 'none', 'clone.minWaitMinutes': '30', 'clone.maxWaitMinutes': '5', 'clone.startTimeoutMinutes': '20', 'backup.retention': 'x', 'wake.method': 'x',
      'deploy.interface': 'eth0; x', 'deploy.maxBitrate': 'fast', 'deploy.retriesUntilDrop': '0', 'backup.target': 'x', 'smb.server': 'bad server!', 'smb.share': '', 'smb.subdir': '../x', 'smb.user': 'a b', 'smb.domain': 'd;', 'smb.password': 'a,b' }), 400],
    ['module error page', (c) => c.get(`${M}/reports/not-a-mac`), 400],
    ['api tokens', (c) => c.get(`${M}/tokens`), 200],
    ['api token created', async (c) => c.post(`${M}/tokens`, { _csrf: await c.csrf('/'), label: 'script' }), 201],
    ['api token error', async (c) => c.post(`${M}/tokens`, { _csrf: await c.csrf('/'), label: '' }), 400],
  ];

  test.each(PAGES)('%s', async (_name, load, status) => {
    const [f, e] = [await load(fr), await load(en)];
    expect([f.status, e.status]).toEqual([status, status]);
    expect(f.text).toContain('<html lang="fr">');
    expect(e.text).toContain('<html lang="en">');
    expect(wordsIn(visibleText(e.text), FRENCH)).toEqual([]);
    expect(wordsIn(visibleText(f.text), ENGLISH)).toEqual([]);
    expect(FRENCH_PHRASES.filter((p) => visibleText(e.text).includes(p))).toEqual([]);
    expect(ENGLISH_PHRASES.filter((p) => visibleText(f.text).includes(p))).toEqual([]);
  });

  test('the login page follows Accept-Language before anyone chose (French when unsure)', async () => {
    const get = (lang?: string) => fetch(`${shell.url}/login`, { headers: lang ? { 'accept-language': lang } : {} }).then((r) => r.text());
    const [none, english, german, french] = await Promise.all([get(), get('en-GB,en;q=0.9'), get('de'), get('fr-FR,en;q=0.5')]);
    for (const page of [none, german, french]) expect(page).toContain('<html lang="fr">');
    expect(english).toContain('<html lang="en">');
    expect(english).toContain('>Log in</button>');
    expect(wordsIn(visibleText(english), FRENCH)).toEqual([]);
    expect(wordsIn(visibleText(none), ENGLISH)).toEqual([]);
  });

  test('form errors are in the reader\'s language', async () => {
    const post = async (c: PageClient) => (await c.post(`${M}/actions`, { ...CLONE, min_wait: '30', max_wait: '5', _csrf: await c.csrf('/') })).text;
    expect(await post(fr)).toMatch(/id="err-max_wait">doit être au moins l’attente minimale \(30 minutes\)</);
    expect(await post(en)).toMatch(/id="err-max_wait">must be at least the minimum wait \(30 minutes\)</);
    const dhcp = async (c: PageClient) => (await c.post('/dhcp/reservations', { _csrf: await c.csrf('/'), name: 's101-pc01', ip: '10.77.0.62', mac: 'nope' })).text;
    expect(await dhcp(fr)).toContain('data-field="mac">« nope » n’est pas une adresse MAC (attendu aa:bb:cc:dd:ee:ff)<');
    expect(await dhcp(en)).toContain('data-field="mac">&#34;nope&#34; is not a MAC address (expected aa:bb:cc:dd:ee:ff)<');
    const taken = async (c: PageClient) => (await c.post('/dhcp/reservations', { _csrf: await c.csrf('/'), name: 's101-pc01', ip: '10.77.0.62', mac: '52:54:00:aa:bb:02' })).text;
    expect(await taken(fr)).toMatch(/data-field="name">s101-pc01 est déjà utilisé par 52:54:00:12:00:0b \(10\.77\.0\.\d+\)</);
    expect(await taken(en)).toMatch(/data-field="name">s101-pc01 is already used by 52:54:00:12:00:0b \(10\.77\.0\.\d+\)</);
    const flash = await en.post(`${M}/actions/${actionId}/cancel`, { _csrf: await en.csrf('/') });
    expect(flash.location).toMatch(/\?flash=[A-Za-z0-9_-]{16}$/); // an id, never the text
    const shown = await en.get(new URL(flash.location ?? '', shell.url).pathname + new URL(flash.location ?? '', shell.url).search);
    expect(shown.text).toContain('<p class="flash" role="status">Action cancelled');
  });

  test('error pages show the error in the reader\'s language when it has a catalog message', async () => {
    const [f, e] = [await fr.get(`${M}/reports/not-a-mac`), await en.get(`${M}/reports/not-a-mac`)];
    expect(f.text).toContain('<p class="error" role="alert">« not-a-mac » n’est pas une adresse MAC (attendu aa:bb:cc:dd:ee:ff)</p>');
    expect(e.text).toContain('<p class="error" role="alert">&#34;not-a-mac&#34; is not a MAC address (expected aa:bb:cc:dd:ee:ff)</p>');
    expect((await fr.get(`${M}/actions/a_${'x'.repeat(22)}`)).text).toMatch(/role="alert">action introuvable</);
    const pupil = await loggedIn(shell, 'eleve1');
    expect((await pupil.get('/admin/modules')).text).toContain('role="alert">cette page demande le droit « administrateur du serveur »<');
    // the host's rights check inside a module route: the host's page, still in the reader's language
    const denied = await pupil.get(`${M}/actions/new`);
    expect([denied.status, denied.text.includes('role="alert">cette page demande le droit « clonage des postes de vos parcs »<')]).toEqual([403, true]);
    // an unknown address: the layout's error page, translated, with a way back (not a bare "Not found")
    const lost = await fr.get('/no/such/page');
    expect([lost.status, lost.text.includes('role="alert">Page introuvable'), lost.text.includes('<nav class="menu"'), lost.text.includes('href="/">Accueil')]).toEqual([404, true, true, true]);
    const lostModule = await en.get(`${M}/no-such-page`);
    expect([lostModule.status, lostModule.text.includes('role="alert">Page not found')]).toEqual([404, true]);
    const csrf = await en.post(`${M}/config`, { menuMode: 'text' });
    expect([csrf.status, csrf.text.includes('role="alert">invalid or missing CSRF token: reload the page and try again<')]).toEqual([403, true]);
    expect((await fr.post(`${M}/config`, { 'menu.mode': 'text' })).text).toContain('role="alert">jeton CSRF absent ou invalide : rechargez la page et recommencez<');
    const json = await fetch(`${shell.url}${M}/reports/not-a-mac`, { headers: { accept: 'application/json', 'accept-language': 'fr' } });
    expect(((await json.json()) as { error: string }).error).toBe('not logged in'); // JSON answers stay English, whatever the browser asks
  });

  test('events the server writes are shown in the reader\'s language, stored in English', async () => {
    const events = (html: string) => /<ol class="events"[\s\S]*?<\/ol>/.exec(html)![0].replace(/&#39;/g, "'");
    const [f, e] = [events((await fr.get(`${M}/actions/${actionId}`)).text), events((await en.get(`${M}/actions/${actionId}`)).text)];
    expect(f).toMatch(/créée par admin : Clonage \(UdpCast\) de s101-pc01, s101-pc02, s101-pc03, port \d+, démarrage le \d{2}\/\d{2}\/\d{4}/);
    expect(e).toMatch(/created by admin: Clone \(UdpCast\) of s101-pc01, s101-pc02, s101-pc03, port \d+, start \d{2}\/\d{2}\/\d{4}/);
    // a clone of PCs outside a domain skips the preparing stage (no emitter to take out of the domain)
    expect(f).toContain('s101-pc02 (récepteur) : planifiée → en attente — plan de démarrage armé (environnement clonage)');
    expect(e).toContain('s101-pc02 (receiver): scheduled → waiting — boot plan armed (toolkit clonage)');
    const stored = shell.db.prepare('SELECT message FROM clonage_events WHERE action_id = ? ORDER BY id').all(actionId) as { message: string }[];
    expect(stored[0].message).toMatch(/^created by admin: clone of s101-pc01 \(sender\), s101-pc02 \(receiver\), s101-pc03 \(receiver\), port \d+, start \d{4}-/);
  });

  test('the storage and deploy fields, their errors and the storage partition\'s images are on the pages checked above', async () => {
    const page = async (name: string) => (await PAGES.find(([n]) => n === name)![1](en)).text;
    expect(await page('wizard 3 backup (store fields)')).toMatch(/<legend>Image storage<\/legend>[\s\S]*name="storage_part"/);
    expect(await page('wizard 3 restore (store fields)')).toContain('name="store"');
    expect(await page('wizard 3 deploy')).toMatch(/Image to deploy <select name="source"/);
    expect(await page('wizard store errors')).toMatch(/id="err-storage_part">&quot;auto&quot; or a partition name/);
    expect(await page('wizard deploy errors')).toMatch(/id="err-source">[^<]*MAC/);
    const config = await page('config errors');
    for (const f of ['deploy.interface', 'deploy.maxBitrate', 'deploy.retriesUntilDrop', 'backup.target', 'smb.server', 'smb.subdir', 'smb.user', 'smb.domain', 'smb.password']) {
      expect([f, new RegExp(`data-field="${f}"`).test(config)]).toEqual([f, true]);
    }
    expect(config).toContain('Multicast deploy from the server');
    expect(await page('report')).toMatch(/Backups on the storage partition \(sda5\)[\s\S]*img_store[\s\S]*>complete<[\s\S]*>incomplete</);
  });

  test('the menu and the module list use the manifest\'s English labels', async () => {
    const page = (await en.get('/admin/modules')).text;
    expect(page).toContain('<h2>Workstation cloning</h2>');
    expect(page).toContain('>Reports and backups</a>');
    expect(page).toContain('<strong>Workstation cloning</strong>');
  });
});

describe('the language switch', () => {
  let shell: TestShell;
  beforeAll(async () => {
    shell = await startTestShell();
  });
  afterAll(async () => {
    await shell?.stopAndClean();
  });

  test('the top bar offers the other language, named and described in that language', async () => {
    const c = await loggedIn(shell, 'tech1');
    const page = (await c.get('/')).text;
    expect(page).toMatch(/<form method="post" action="\/locale"[^>]*>[\s\S]*?name="_csrf"[\s\S]*?<button type="submit" name="locale" value="en" lang="en" class="link" title="Show the pages in English">English<\/button>/);
    expect(page).not.toContain('value="fr" lang="fr"');
  });

  test('needs the CSRF token (403 without, nothing changes)', async () => {
    const c = await loggedIn(shell, 'tech1');
    expect((await c.post('/locale', { locale: 'en', next: '/' })).status).toBe(403);
    expect((await c.post('/locale', { locale: 'en', next: '/', _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await c.get('/')).text).toContain('<html lang="fr">');
  });

  test('refuses an unknown language and an outside redirect', async () => {
    const c = await loggedIn(shell, 'tech1');
    expect((await c.post('/locale', { locale: 'de', _csrf: await c.csrf('/') })).status).toBe(400);
    const r = await c.post('/locale', { locale: 'en', next: '//evil.example/', _csrf: await c.csrf('/') });
    expect([r.status, r.location]).toEqual([303, '/']);
  });

  test('without a session it sends to the login page', async () => {
    const r = await fetch(`${shell.url}/locale`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ locale: 'en' }) });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toMatch(/^\/login/);
  });

  test('comes back to the page it was used on, and is remembered across logout and login', async () => {
    const c = await loggedIn(shell, 'prof1');
    const r = await c.post('/locale', { locale: 'en', next: '/parcs/salle101', _csrf: await c.csrf('/parcs') });
    expect([r.status, r.location]).toEqual([303, '/parcs/salle101']);
    expect((await c.get('/parcs/salle101')).text).toContain('<html lang="en">');
    expect((await c.post('/logout', { _csrf: await c.csrf('/') })).status).toBe(303);
    expect((await c.get('/login')).text).toContain('<html lang="fr">'); // logged out: the browser's language again
    const again = await loggedIn(shell, 'prof1');
    expect((await again.get('/')).text).toContain('<html lang="en">');
    expect((await (await loggedIn(shell, 'eleve1')).get('/')).text).toContain('<html lang="fr">'); // per user
    await again.post('/locale', { locale: 'fr', _csrf: await again.csrf('/') });
    expect((await (await loggedIn(shell, 'prof1')).get('/')).text).toContain('<html lang="fr">');
  });
});
