/**
 * Issue 16 item 3: the image library page lists every image with machine, name, date, size,
 * store, verification and retention; delete is confirmed (the last good image needs a second,
 * explicit confirmation), rename and protect work on the real store folder; a delegated admin
 * sees and changes only the images of machines in their parcs; every POST needs CSRF.
 * The images are laid out as a committed backup leaves them (rows + folders with manifest.json):
 * the backup path itself is tested by backup-restore.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '../helpers/hostile';
import { startTestShell, type TestShell } from '../helpers/test-shell';
import { moduleSettings } from '../helpers/hostile';
import { addImage } from '../helpers/library-fixtures';

const M = '/modules/clonage';
const PC01 = '52:54:00:12:00:0b';
const CDI01 = '52:54:00:12:00:17';

const dirOf = (shell: TestShell, mac: string, image: string) => path.join(shell.dataDir, 'modules/clonage/images', mac.replace(/:/g, '-'), image);
const row = (page: string, id: number) => new RegExp(`<tr data-image="${id}"[\\s\\S]*?</tr>`).exec(page)?.[0] ?? '';

describe('image library page', () => {
  let shell: TestShell;
  const id: Record<string, number> = {};
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
    moduleSettings(shell.db).set('backup.retention', 'keep-last-2');
    id.a = addImage(shell, PC01, 's101-pc01', 'img_a', '2026-11-01T18:30:00.000Z');
    id.b = addImage(shell, PC01, 's101-pc01', 'img_b', '2026-11-08T18:30:00.000Z');
    id.c = addImage(shell, PC01, 's101-pc01', 'img_c', '2026-11-15T18:30:00.000Z');
    id.cdi = addImage(shell, CDI01, 'cdi-pc01', 'cdi_only', '2026-11-20T08:00:00.000Z');
    id.part = addImage(shell, PC01, 's101-pc01', 'on_pc', '2026-11-21T08:00:00.000Z', 'partition');
  });
  afterAll(async () => shell?.stopAndClean());

  test('every image with machine, name, date, size, store, verification, retention in words; store space', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const page = (await admin.send('GET', `${M}/images`)).text;
    expect(page).toContain('Règle de rétention : conserver les 2 dernières.');
    const a = row(page, id.a);
    expect(a).toMatch(/s101-pc01[\s\S]*img_a[\s\S]*01\/11\/2026[\s\S]*123,5 Mo|123.5 Mo/);
    expect(a).toContain('vérifiée par le serveur');
    expect(a).toContain('supprimée à la prochaine sauvegarde'); // keep-last-2 plus the next backup
    expect(row(page, id.c)).toContain('conservée');
    expect(row(page, id.cdi)).toContain('dernière image valide');
    expect(row(page, id.part)).toContain('vérifiée par le poste');
    expect(row(page, id.part)).not.toContain('/rename');
    expect(page).toMatch(/data-store="server"><strong>[^<]+<\/strong> —\s*[\d,.]+ [GMT]o libres sur/);
    expect(page).not.toContain('keep-last-2');
  });

  test('a delegated admin sees only their parcs’ images and cannot touch the others (403, nothing changed)', async () => {
    const tech = await Client.as(shell.url, 'tech1');
    const page = (await tech.send('GET', `${M}/images`)).text;
    expect(row(page, id.a)).not.toBe('');
    expect(row(page, id.cdi)).toBe('');
    for (const [p, form] of [['delete', { confirm: '1', confirmLast: '1' }], ['rename', { name: 'stolen' }], ['protect', { on: '1' }]] as const) {
      expect((await tech.send('POST', `${M}/images/${id.cdi}/${p}`, { form })).status).toBe(403);
    }
    expect(fs.existsSync(dirOf(shell, CDI01, 'cdi_only'))).toBe(true);
    const prof = await Client.as(shell.url, 'prof1');
    expect(row((await prof.send('GET', `${M}/images`)).text, id.a)).toBe('');
    const eleve = await Client.as(shell.url, 'eleve1');
    expect((await eleve.send('GET', `${M}/images`)).status).toBe(403);
  });

  test('CSRF: a forged POST changes nothing', async () => {
    const admin = await Client.as(shell.url, 'admin');
    expect((await admin.send('POST', `${M}/images/${id.a}/delete`, { form: { confirm: '1' }, csrf: false })).status).toBe(403);
    expect(fs.existsSync(dirOf(shell, PC01, 'img_a'))).toBe(true);
  });

  test('delete asks first; then deletes the row and the files', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const ask = await admin.send('POST', `${M}/images/${id.a}/delete`, { form: {} });
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Supprimer l’image « img_a » de s101-pc01 ?');
    expect(fs.existsSync(dirOf(shell, PC01, 'img_a'))).toBe(true);
    const done = await admin.send('POST', `${M}/images/${id.a}/delete`, { form: { confirm: '1' } });
    expect(done.status).toBe(303);
    expect((await admin.send('GET', done.location!)).text).toContain('Image « img_a » de s101-pc01 supprimée.');
    expect(fs.existsSync(dirOf(shell, PC01, 'img_a'))).toBe(false);
    expect(shell.db.prepare('SELECT status FROM clonage_backups WHERE id = ?').get(id.a)).toEqual({ status: 'deleted' });
  });

  test('the last good image: refused without the second confirmation, deleted with it', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const ask = await admin.send('POST', `${M}/images/${id.cdi}/delete`, { form: {} });
    expect(ask.text).toContain('Je confirme supprimer la dernière image');
    const refused = await admin.send('POST', `${M}/images/${id.cdi}/delete`, { form: { confirm: '1' } });
    expect((await admin.send('GET', refused.location!)).text).toContain('C’est la dernière image valide de cdi-pc01');
    expect(fs.existsSync(dirOf(shell, CDI01, 'cdi_only'))).toBe(true);
    expect((await admin.send('POST', `${M}/images/${id.cdi}/delete`, { form: { confirm: '1', confirmLast: '1' } })).status).toBe(303);
    expect(fs.existsSync(dirOf(shell, CDI01, 'cdi_only'))).toBe(false);
  });

  test('rename: a bad or taken name is refused in French; a good one renames folder, manifest and row', async () => {
    const admin = await Client.as(shell.url, 'admin');
    for (const [name, want] of [['../etc', 'Nom d’image'], ['img_c', 'existe déjà']]) {
      const r = await admin.send('POST', `${M}/images/${id.b}/rename`, { form: { name } });
      expect((await admin.send('GET', r.location!)).text).toContain(want);
    }
    const ok = await admin.send('POST', `${M}/images/${id.b}/rename`, { form: { name: 'avant_examens' } });
    expect((await admin.send('GET', ok.location!)).text).toContain('« img_b » devient « avant_examens »');
    expect(fs.existsSync(dirOf(shell, PC01, 'img_b'))).toBe(false);
    const manifest = JSON.parse(fs.readFileSync(path.join(dirOf(shell, PC01, 'avant_examens'), 'manifest.json'), 'utf8'));
    expect(manifest.image).toBe('avant_examens');
    expect(shell.db.prepare('SELECT image FROM clonage_backups WHERE id = ?').get(id.b)).toEqual({ image: 'avant_examens' });
  });

  test('protect and unprotect', async () => {
    const admin = await Client.as(shell.url, 'admin');
    await admin.send('POST', `${M}/images/${id.b}/protect`, { form: { on: '1' } });
    expect(row((await admin.send('GET', `${M}/images`)).text, id.b)).toMatch(/data-retention="protected"[\s\S]*Ne plus protéger/);
    await admin.send('POST', `${M}/images/${id.b}/protect`, { form: { on: '0' } });
    expect(row((await admin.send('GET', `${M}/images`)).text, id.b)).not.toContain('data-retention="protected"');
  });
});
