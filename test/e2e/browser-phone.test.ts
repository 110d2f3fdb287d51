/**
 * Issue 16 items 8–9 at phone width: the admin pages at 390 px (and 360 px) in Debian's chromium,
 * in French, with screenshots in test-artifacts/screenshots/phone/. Each page must fit the screen
 * (no horizontal overflow of the page: wide tables scroll inside themselves), and an action's
 * progress bars must be visible. A backup is refused on a fresh server, then accepted once the
 * boot environment is there; a schedule is created, paused and deleted; the library lists an image.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loginThroughForm, openPage, screenshots, see, type TestPage } from '../helpers/browser';
import { installFakeToolkit, startTestShell, USERS, type TestShell } from '../helpers/test-shell';

jest.setTimeout(180_000);
const MOD = '/modules/clonage';

async function textMatches(loc: ReturnType<Page['locator']>, re: RegExp): Promise<void> {
  await loc.waitFor();
  expect(await loc.textContent()).toMatch(re);
}

async function fits(page: Page, width: number): Promise<void> {
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  expect([page.url(), width, overflow]).toEqual([page.url(), width, 0]);
}

describe('admin pages on a phone (390 px)', () => {
  let shell: TestShell;
  let browser: Browser;
  let tp: TestPage;
  const shots = screenshots('phone');
  const shot = (name: string) => shots.shot(tp.page, name);

  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'], bare: true });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await shell?.stopAndClean();
  });
  beforeEach(async () => {
    tp = await openPage(browser, shell.url);
    await tp.page.setViewportSize({ width: 390, height: 844 });
  });
  afterEach(async () => {
    const errors = [...tp.errors];
    await tp.close();
    expect(errors).toEqual([]);
  });

  test('fresh server: the checklist says what is missing; the wizard refuses in French before waking anyone', async () => {
    const { page } = tp;
    await loginThroughForm(page, USERS.admin.login, USERS.admin.password);
    await fits(page, 390);
    await shot('home');
    await page.goto(`${MOD}/config`);
    await see.text(page.locator('#readiness h2'), 'État du serveur');
    await see.text(page.locator('[data-check="job-toolkit"] .badge'), 'manquant');
    await fits(page, 390);
    await shot('config-readiness-missing');
    await page.goto(`${MOD}/actions/new?parc=salle101`);
    await fits(page, 390);
    await shot('wizard-step2');
    await page.locator('input[name="machine"][value="s101-pc01"]').check();
    await page.locator('select[name="type"]').selectOption('backup');
    await page.getByRole('button', { name: /paramètres/i }).click();
    tp.allow(/status of 400/); // the refusal is a 400 page
    await page.getByRole('button', { name: /Vérifier/ }).click();
    await textMatches(page.locator('.selection .field-error').first(), /Action impossible : l’environnement de démarrage « clonage » n’est pas installé/);
    await fits(page, 390);
    await shot('wizard-refused-no-environment');
  });

  test('ready server: all green; a backup runs and its page shows progress; library, schedules', async () => {
    installFakeToolkit(shell.dataDir);
    const { page } = tp;
    await loginThroughForm(page, USERS.admin.login, USERS.admin.password);
    await page.goto(`${MOD}/config`);
    await see.text(page.locator('[data-check="job-toolkit"] .badge'), 'prêt');
    await shot('config-readiness-ready');
    await page.goto(`${MOD}/actions/new?parc=salle101`);
    await page.locator('input[name="machine"][value="s101-pc01"]').check();
    await page.locator('input[name="machine"][value="s101-pc02"]').check();
    await page.locator('select[name="type"]').selectOption('backup');
    await page.getByRole('button', { name: /paramètres/i }).click();
    await fits(page, 390);
    await shot('wizard-step3');
    await page.getByRole('button', { name: /Vérifier/ }).click();
    await fits(page, 390);
    await shot('wizard-step4');
    await page.getByRole('button', { name: "Lancer l'action" }).click();
    await page.waitForURL(/\/actions\/a_/);
    await textMatches(page.locator('h1'), /^Sauvegarde — salle101 — /);
    expect(await page.locator('table.targets progress').first().isVisible()).toBe(true);
    await fits(page, 390);
    await shot('action-page');
    await page.goto(`${MOD}/actions`);
    await fits(page, 390);
    await shot('actions-list');

    // an image as a committed backup leaves it (the backup path itself runs in the QEMU suites)
    const mac = '52:54:00:12:00:0d';
    const dir = path.join(shell.dataDir, 'modules/clonage/images', mac.replace(/:/g, '-'), 'image_20261201');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ image: 'image_20261201', verifiedBy: 'server', disk: { sizeBytes: 8e9 } }));
    shell.db.prepare(`INSERT INTO clonage_backups (mac, name, image, location, status, created_at, size_bytes, manifest_json)
      VALUES (?, 's101-pc03', 'image_20261201', 'server', 'succeeded', '2026-12-01T18:30:00Z', 4200000000, '{"verifiedBy":"server"}')`).run(mac);
    await page.goto(`${MOD}/images`);
    await see.text(page.locator('tr[data-machine="s101-pc03"] td').nth(1), 'image_20261201');
    await fits(page, 390);
    await shot('images-library');
  });

  test('schedule: the wizard previews the rule in words; pause and delete on the schedules page', async () => {
    const { page } = tp;
    await loginThroughForm(page, USERS.admin.login, USERS.admin.password);
    await page.goto(`${MOD}/actions/new?parc=salle101`);
    await page.locator('input[name="machine"][value="s101-pc04"]').check();
    await page.locator('select[name="type"]').selectOption('report');
    await page.getByRole('button', { name: /paramètres/i }).click();
    await page.locator('input[name="start"][value="cron"]').check();
    await page.locator('input[name="cron"]').fill('30 18 * * 5');
    await page.getByRole('button', { name: /Vérifier/ }).click();
    await textMatches(page.locator('table.summary'), /récurrent : chaque vendredi à 18 h 30/);
    await shot('wizard-schedule-preview');
    await page.getByRole('button', { name: "Lancer l'action" }).click();
    await page.waitForURL(/\/schedules/);
    await see.text(page.locator('td.cron-words').first(), 'chaque vendredi à 18 h 30');
    await fits(page, 390);
    await shot('schedules');
    await page.getByRole('button', { name: 'Mettre en pause' }).click();
    await see.text(page.locator('tr[data-schedule] .badge').last(), 'en pause');
    await shot('schedules-paused');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Supprimer' }).click();
    await textMatches(page.locator('main'), /Aucune planification/);
    await page.setViewportSize({ width: 360, height: 740 });
    tp.allow(/status of 404/); // the unknown address below
    for (const p of ['/', `${MOD}/actions`, `${MOD}/images`, `${MOD}/config`, '/no/such/page']) {
      await page.goto(p);
      await fits(page, 360);
    }
    await shot('not-found-360');
  });
});

