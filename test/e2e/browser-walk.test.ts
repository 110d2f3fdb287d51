/**
 * Issue 16 item 9: the walk a school admin makes, in French, in Debian's chromium against the real
 * shell, with screenshots in test-artifacts/screenshots/walk/: readiness all green → a clone where
 * one PC fails ("terminée avec erreurs") → "relancer les postes en échec" → a backup whose image
 * reaches the library → a deploy of that image chosen in the library (checked against each PC) →
 * a schedule created, paused and deleted.
 *
 * The PCs are recorded agents at the process boundary (test/helpers/recorded-agent.ts): they speak
 * the agent protocol over HTTP, upload a real image (SHA-256 checked and committed by the server).
 * The real agent on QEMU PCs is exercised by pxe-clone, backup-qemu and uefi; this walk is about the
 * pages and stays under a minute or two.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loginThroughForm, openPage, screenshots, see, type TestPage } from '../helpers/browser';
import { RecordedAgent, waitForArmedJobs } from '../helpers/recorded-agent';
import { startTestShell, USERS, type TestShell } from '../helpers/test-shell';

jest.setTimeout(240_000);
const MOD = '/modules/clonage';
const MACS: Record<string, string> = {
  '52:54:00:12:00:0b': 's101-pc01', '52:54:00:12:00:0c': 's101-pc02', '52:54:00:12:00:0d': 's101-pc03', '52:54:00:12:00:0e': 's101-pc04',
};
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const TABLE = Buffer.from('label: dos\nlabel-id: 0x1234\ndevice: /dev/sda\nunit: sectors\nsector-size: 512\n\n/dev/sda1 : start=2048, size=163840, type=83\n');

/** The agents of the jobs armed for `count` PCs, by name. */
async function agentsFor(shell: TestShell, count: number): Promise<Record<string, RecordedAgent>> {
  const jobs = await waitForArmedJobs(shell.db, count, 20_000);
  return Object.fromEntries(jobs.map((j) => [MACS[j.mac], RecordedAgent.forJob(`${shell.url}${MOD}`, j, MACS[j.mac])]));
}

async function wizard(page: Page, type: string, machines: string[], emitter?: string): Promise<void> {
  await page.goto(`${MOD}/actions/new?parc=salle101`);
  await page.locator('select[name="type"]').selectOption(type);
  if (emitter) await page.getByLabel(`émetteur ${emitter}`).check();
  for (const m of machines) await page.getByLabel(m, { exact: true }).check();
  await page.getByRole('button', { name: 'Paramètres →' }).click();
  await see.text(page.locator('.steps [aria-current="step"]'), 'Paramètres');
}

describe('the admin’s walk, in French', () => {
  let shell: TestShell;
  let browser: Browser;
  let tp: TestPage;
  const shots = screenshots('walk');
  const shot = (name: string) => shots.shot(tp.page, name);
  const state = (page: Page) => page.locator('#action [data-field="state"]');
  const row = (page: Page, name: string) => page.locator(`tr[data-name="${name}"] [data-field="state"]`);

  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
    browser = await launchBrowser();
    tp = await openPage(browser, shell.url);
    await loginThroughForm(tp.page, USERS.admin.login, USERS.admin.password);
  }, 60_000);
  afterAll(async () => {
    const errors = [...(tp?.errors ?? [])];
    await tp?.close();
    await browser?.close().catch(() => undefined);
    await shell?.stopAndClean();
    expect(errors).toEqual([]);
  });

  test('readiness: the boot environment is there, the checklist has nothing missing', async () => {
    const { page } = tp;
    await page.goto(`${MOD}/config`);
    await see.text(page.locator('#readiness h2'), 'État du serveur');
    await see.text(page.locator('[data-check="job-toolkit"] .badge'), 'prêt');
    await see.count(page.locator('#readiness .badge', { hasText: 'manquant' }), 0);
    await shot('readiness');
  });

  test('clone: one receiver fails, the action ends "terminée avec erreurs"; the failed PC is relaunched', async () => {
    const { page } = tp;
    await wizard(page, 'clone', ['s101-pc02', 's101-pc03'], 's101-pc01');
    const domain = page.locator('select[name="domain"]');
    if (await domain.count()) await domain.selectOption('none');
    await page.getByRole('button', { name: 'Vérifier →' }).click();
    await page.getByRole('button', { name: "Lancer l'action" }).click();
    await page.waitForURL(new RegExp(`${MOD}/actions/a_[A-Za-z0-9_-]+$`));
    const first = page.url();
    const a = await agentsFor(shell, 3);
    for (const n of ['s101-pc01', 's101-pc02', 's101-pc03']) await a[n].fetchJob();
    await see.attr(state(page), 'data-state', 'running');
    await a['s101-pc02'].finish('succeeded');
    await a['s101-pc03'].result('failed', 8, 'udp-receiver: connection lost');
    await a['s101-pc01'].finish('succeeded');
    await see.text(state(page), 'terminée avec erreurs');
    await see.contains(page.locator('[data-counts]'), '2 sur 3 réussis, 1 en échec');
    await see.contains(row(page, 's101-pc03').locator('xpath=ancestor::tr').locator('[data-field="message"]'),
      'la lecture, l’envoi ou l’écriture des données a échoué en cours de route');
    await see.contains(page.locator('#events'), 'message de l’agent, non traduit : « udp-receiver: connection lost »');
    await shot('clone-partial');

    await page.getByRole('button', { name: 'Relancer les postes en échec' }).click();
    await page.waitForURL((u) => /\/actions\/a_/.test(u.pathname) && u.toString() !== first);
    await see.text(page.getByRole('status'), 'Nouvelle action créée pour les postes en échec.');
    await see.count(page.locator('tr[data-target]'), 2); // the emitter again, and s101-pc03
    await see.count(row(page, 's101-pc02'), 0);
    await shot('retry-failed');
    await page.getByRole('button', { name: 'Annuler' }).click();
    await see.attr(state(page), 'data-state', 'cancelled');
  });

  test('backup → library → deploy chosen from the library, checked against each PC', async () => {
    const { page } = tp;
    await wizard(page, 'backup', ['s101-pc04']);
    await page.locator('input[name="image"]').fill('master_s101');
    await page.getByRole('button', { name: 'Vérifier →' }).click();
    await page.getByRole('button', { name: "Lancer l'action" }).click();
    await page.waitForURL(/\/actions\/a_/);
    const pc04 = (await agentsFor(shell, 1))['s101-pc04'];
    const job = await pc04.fetchJob();
    expect(job).toMatchObject({ role: 'backup', image: 'master_s101', store: 'server' });
    const chunk = randomBytes(300_000);
    await pc04.putImageFile('table.sfdisk', TABLE, sha(TABLE));
    await pc04.putImageFile('sda1.pc.zst.000', chunk, sha(chunk));
    await pc04.commitImage(['clonage-image 1', 'disk sda 209715200 512', 'chunk_bytes 67108864', `table table.sfdisk ${TABLE.length} ${sha(TABLE)}`,
      'tool partclone 0.3.23', 'part 1 sda1 ext4 partclone.extfs partclone zstd 83886080 11058176', `chunk 1 sda1.pc.zst.000 ${chunk.length} ${sha(chunk)}`, 'end 1', ''].join('\n'));
    await pc04.finish('succeeded');
    await see.attr(state(page), 'data-state', 'succeeded');
    await see.contains(page.locator('#events'), 's101-pc04 : image master_s101 enregistrée sur le serveur');
    await shot('backup-done');

    await page.goto(`${MOD}/images`);
    await see.contains(page.locator('tr[data-machine="s101-pc04"]'), 'master_s101');
    await shot('library');

    await wizard(page, 'deploy', ['s101-pc02', 's101-pc03']);
    const source = page.locator('select[name="source"]');
    await source.selectOption({ label: await source.locator('option', { hasText: 'master_s101' }).first().innerText() });
    await page.getByRole('button', { name: 'Vérifier →' }).click();
    await see.text(page.locator('.steps [aria-current="step"]'), 'Validation');
    await see.contains(page.locator('table.summary'), 'master_s101 (image de s101-pc04)');
    // neither PC has sent a report: the check says it could not compare, before launch
    await see.contains(page.locator('.warnings'), 's101-pc02 n’a jamais envoyé de rapport');
    await shot('deploy-summary');
    await page.getByRole('button', { name: "Lancer l'action" }).click();
    await page.waitForURL(/\/actions\/a_/);
    await see.contains(page.locator('h1'), 'salle101');
    await shot('deploy-started');
    await page.getByRole('button', { name: 'Annuler' }).click();
    await see.attr(state(page), 'data-state', 'cancelled');
  });

  test('schedule: created from the wizard, paused, deleted', async () => {
    const { page } = tp;
    await wizard(page, 'report', ['s101-pc01']);
    await page.locator('input[name="start"][value="cron"]').check();
    await page.locator('input[name="cron"]').fill('30 18 * * 5');
    await page.getByRole('button', { name: 'Vérifier →' }).click();
    await see.contains(page.locator('table.summary'), 'récurrent : chaque vendredi à 18 h 30');
    await page.getByRole('button', { name: "Lancer l'action" }).click();
    await page.waitForURL(/\/schedules/);
    await see.text(page.locator('td.cron-words').first(), 'chaque vendredi à 18 h 30');
    await shot('schedule-created');
    await page.getByRole('button', { name: 'Mettre en pause' }).click();
    await see.text(page.locator('tr[data-schedule] .badge').last(), 'en pause');
    await shot('schedule-paused');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Supprimer' }).click();
    await see.contains(page.locator('main'), 'Aucune planification');
    await shot('schedule-deleted');
  });
});
