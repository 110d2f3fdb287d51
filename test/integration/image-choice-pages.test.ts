/**
 * Issue 16 items 3 and 6: a restore chooses its image from the library (each PC's own image, or
 * one PC's server image — another machine's when the admin holds both parcs), and every target is
 * checked before launch against its last report: a disk too small or missing is refused in
 * French, a firmware mode that differs from the image's is a warning on step 4. Step 2 shows per
 * PC whether it is busy (with a link to the action), its last report and its agent's last contact.
 */
import { Client } from '../helpers/hostile';
import { startTestShell, type TestShell } from '../helpers/test-shell';

const M = '/modules/clonage';
const PC01 = '52:54:00:12:00:0b';
const PC02 = '52:54:00:12:00:0c';
const CDI01 = '52:54:00:12:00:17';

function addImage(shell: TestShell, mac: string, name: string, image: string, createdAt: string, diskBytes: number, label = 'dos'): void {
  // a table whose last partition ends at 8 GB (16 777 216 sectors of 512 bytes)
  const text = `label: ${label}\nunit: sectors\nsector-size: 512\n\n/dev/sda1 : start=        2048, size=    16775168, type=83\n`;
  const manifest = { format: 'clonage-image', version: 1, image, mac, machine: name, createdAt, disk: { name: 'sda', sizeBytes: diskBytes, sectorSize: 512 },
    partitionTable: { label, text }, verifiedBy: 'server', storedBytes: 1234 };
  shell.db.prepare(`INSERT INTO clonage_backups (mac, name, image, location, status, created_at, size_bytes, manifest_json, target_id)
    VALUES (?, ?, ?, 'server', 'succeeded', ?, 1234, ?, 'j_test')`).run(mac, name, image, createdAt, JSON.stringify(manifest));
}

function addReport(shell: TestShell, mac: string, name: string, at: string, diskBytes: number): void {
  shell.db.prepare('INSERT INTO clonage_reports (mac, name, created_at, content) VALUES (?, ?, ?, ?)').run(mac, name, at, `### disk sda\nsize=${diskBytes}\n`);
}

/** A finished report action of `mac` whose agent said it booted in `firmware` mode. */
function addFirmware(shell: TestShell, mac: string, name: string, at: string, firmware: 'UEFI' | 'BIOS'): void {
  const id = `a_fw${mac.replace(/:/g, '')}`;
  shell.db.prepare(`INSERT INTO clonage_actions (id, type, state, params_json, parcs_json, created_by, created_at, start_at)
    VALUES (?, 'report', 'succeeded', '{"type":"report","autoReboot":"always"}', '["salle101"]', 'admin', ?, ?)`).run(id, at, at);
  shell.db.prepare(`INSERT INTO clonage_targets (id, action_id, mac, name, ip, role, state, token_hash, started_at, finished_at, updated_at, fetched_from, exit_code,
    firmware, secure_boot) VALUES (?, ?, ?, ?, '10.77.0.11', 'report', 'succeeded', 'x', ?, ?, ?, '10.77.0.11', 0, ?, 'off')`)
    .run(`j_fw${mac.replace(/:/g, '')}`, id, mac, name, at, at, at, firmware.toLowerCase());
}

const restore = (machine: string | string[], image: string, extra: Record<string, string> = {}) =>
  ({ type: 'restore', parc: ['salle101', 'cdi'], machine, disk: 'sda', image, store: 'server', auto_reboot: 'always', start: 'now', ...extra });

describe('restore and deploy choose from the library, checked against each PC', () => {
  let shell: TestShell;
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
    addImage(shell, PC01, 's101-pc01', 'img_own', '2026-11-01T18:30:00.000Z', 8.6e9);
    addImage(shell, CDI01, 'cdi-pc01', 'cdi_master', '2026-11-20T08:00:00.000Z', 8.6e9);
    addReport(shell, PC01, 's101-pc01', '2026-11-25T09:00:00.000Z', 500e9);
    addReport(shell, PC02, 's101-pc02', '2026-11-25T09:05:00.000Z', 4e9);
    addFirmware(shell, PC01, 's101-pc01', '2026-11-25T09:00:00.000Z', 'UEFI');
  });
  afterAll(async () => shell?.stopAndClean());

  test('step 3 of a restore offers each PC’s own image and other PCs’ server images, no typed name', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const page = (await admin.send('GET', `${M}/actions/new/params?type=restore&parc=salle101&parc=cdi&machine=s101-pc01`)).text;
    expect(page).toMatch(/<select name="image"/);
    expect(page).not.toMatch(/<input name="image"/);
    expect(page).toContain('<option value="">La plus récente de chaque poste</option>');
    expect(page).toContain('<option value="img_own">img_own (1 poste(s) sur 1)</option>');
    expect(page).toMatch(new RegExp(`<option value="${CDI01}/cdi_master">cdi-pc01 — cdi_master \\(20/11/2026[^)]*8,6 Go|<option value="${CDI01}/cdi_master">cdi-pc01 — cdi_master`));
  });

  test('another PC’s image: step 4 names it, and a firmware difference is a French warning', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const res = await admin.send('POST', `${M}/actions`, { form: restore('s101-pc01', `${CDI01}/cdi_master`) });
    expect(res.status).toBe(200);
    expect(res.text).toContain('cdi_master (image de cdi-pc01)');
    expect(res.text).toContain('À vérifier avant de lancer');
    expect(res.text).toContain('s101-pc01 démarre en UEFI alors que l’image cdi_master a une table de partitions MBR');
    const created = await admin.send('POST', `${M}/actions`, { form: { ...restore('s101-pc01', `${CDI01}/cdi_master`), confirm: '1' } });
    expect(created.status).toBe(303);
    const p = JSON.parse((shell.db.prepare("SELECT params_json AS p FROM clonage_actions WHERE type = 'restore'").get() as { p: string }).p);
    expect(p).toMatchObject({ image: 'cdi_master', sourceMac: CDI01 });
    await admin.send('POST', `${created.location}/cancel`, { form: {} });
  });

  test('a disk smaller than the image, a missing disk, a missing image and an unreported PC, in French', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const small = await admin.send('POST', `${M}/actions`, { form: restore('s101-pc02', `${CDI01}/cdi_master`) });
    expect(small.status).toBe(400);
    expect(small.text).toContain('le disque sda de s101-pc02 (4,0 Go) est plus petit que ce que demande l’image cdi_master (8,6 Go)');
    const noDisk = await admin.send('POST', `${M}/actions`, { form: restore('s101-pc01', `${CDI01}/cdi_master`, { disk: 'nvme0n1' }) });
    expect(noDisk.text).toContain('s101-pc01 n’a pas de disque nvme0n1 d’après son dernier rapport (disques : sda)');
    const missing = await admin.send('POST', `${M}/actions`, { form: restore(['s101-pc01', 's101-pc03'], 'img_own') });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('s101-pc03 n’a pas d’image valide « img_own » sur le serveur');
    const unreported = await admin.send('POST', `${M}/actions`, { form: restore('s101-pc03', `${CDI01}/cdi_master`) });
    expect(unreported.status).toBe(200);
    expect(unreported.text).toContain('s101-pc03 n’a jamais envoyé de rapport');
  });

  test('a delegated admin cannot restore an image of a machine outside their parcs', async () => {
    const tech = await Client.as(shell.url, 'tech1');
    const res = await tech.send('POST', `${M}/actions`, { form: { ...restore('s101-pc01', `${CDI01}/cdi_master`), parc: 'salle101' } });
    expect(res.status).toBe(400);
    expect(res.text).toContain('cette image est celle d’un poste hors de vos parcs');
    const page = (await tech.send('GET', `${M}/actions/new/params?type=restore&parc=salle101&machine=s101-pc01`)).text;
    expect(page).not.toContain('cdi_master');
  });

  test('step 2: busy (with a link to the action), last report and last agent contact per PC', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const created = await admin.send('POST', `${M}/actions`, { form: { type: 'report', parc: 'salle101', machine: 's101-pc02', auto_reboot: 'always', start: 'at',
      start_at: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 16) + 'Z', confirm: '1' } });
    expect(created.status).toBe(303);
    const page = (await admin.send('GET', `${M}/actions/new?parc=salle101`)).text;
    const row = (name: string) => new RegExp(`<tr data-machine="${name}"[\\s\\S]*?</tr>`).exec(page)?.[0] ?? '';
    expect(row('s101-pc02')).toMatch(new RegExp(`<a class="badge warn" href="${M}${created.location!.slice(created.location!.indexOf('/actions'))}">occupé : Remontée de rapport — salle101 — `));
    expect(row('s101-pc02')).toContain('25/11/2026');
    expect(row('s101-pc01')).toContain('libre');
    expect(row('s101-pc01')).toMatch(/data-field="lastContact">25\/11\/2026/);
    expect(row('s101-pc03')).toMatch(/data-field="lastReport">jamais/);
  });
});
