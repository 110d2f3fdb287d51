/**
 * Issue 16 item 5: a saved schedule appears on the Schedules page with its parcs, its rule in
 * words, its next runs, its creator and its last result; it can be paused, resumed and deleted;
 * the wizard's step 4 shows the same words before saving. Rights per parc and CSRF.
 */
import { Client } from '../helpers/hostile';
import { startTestShell, type TestShell } from '../helpers/test-shell';

const M = '/modules/clonage';

describe('schedules page', () => {
  let shell: TestShell;
  let id = '';
  const row = (page: string) => new RegExp(`<tr data-schedule="${id}"[\\s\\S]*?</tr>`).exec(page)?.[0] ?? '';
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
  });
  afterAll(async () => shell?.stopAndClean());

  test('the wizard previews the rule in words, then the schedule is listed with parcs, next runs, creator', async () => {
    const tech = await Client.as(shell.url, 'tech1');
    const form = { type: 'backup', parc: 'salle101', machine: ['s101-pc01', 's101-pc02'], disk: 'sda', compression: 'zstd', auto_reboot: 'always',
      start: 'cron', cron: '30 18 * * 5', store: 'server' };
    const preview = await tech.send('POST', `${M}/actions`, { form });
    expect(preview.status).toBe(200);
    expect(preview.text).toContain('récurrent : chaque vendredi à 18 h 30');
    const saved = await tech.send('POST', `${M}/actions`, { form: { ...form, confirm: '1' } });
    expect(saved.status).toBe(303);
    expect(saved.location).toMatch(/\/schedules\?flash=/);
    expect((await tech.send('GET', saved.location!)).text).toContain('Planification enregistrée : chaque vendredi à 18 h 30.');
    id = (shell.db.prepare('SELECT id FROM clonage_schedules').get() as { id: string }).id;
    const page = (await tech.send('GET', `${M}/schedules`)).text;
    const r = row(page);
    expect(r).toContain('chaque vendredi à 18 h 30');
    expect(r).toContain('salle101');
    expect(r).toContain('tech1');
    expect(r).toContain('jamais encore');
    expect((r.match(/<li class="num">/g) ?? []).length).toBe(3);
    expect(r).not.toContain('30 18 * * 5');
  });

  test('rights: prof1 (no delegated parc) neither sees nor changes it; CSRF refused', async () => {
    const prof = await Client.as(shell.url, 'prof1');
    expect(row((await prof.send('GET', `${M}/schedules`)).text)).toBe('');
    for (const p of ['pause', 'resume', 'delete']) expect((await prof.send('POST', `${M}/schedules/${id}/${p}`, { form: {} })).status).toBe(403);
    const admin = await Client.as(shell.url, 'admin');
    expect((await admin.send('POST', `${M}/schedules/${id}/delete`, { form: {}, csrf: false })).status).toBe(403);
    expect((await admin.send('POST', `${M}/schedules/s_nosuch/pause`, { form: {} })).status).toBe(404);
    expect(shell.db.prepare('SELECT enabled FROM clonage_schedules WHERE id = ?').get(id)).toEqual({ enabled: 1 });
  });

  test('pause, resume, delete', async () => {
    const admin = await Client.as(shell.url, 'admin');
    expect(row((await admin.send('GET', `${M}/schedules`)).text)).toContain('tech1');
    expect((await admin.send('POST', `${M}/schedules/${id}/pause`, { form: {} })).status).toBe(303);
    let r = row((await admin.send('GET', `${M}/schedules`)).text);
    expect(r).toContain('data-enabled="0"');
    expect(r).toContain('en pause');
    expect(r).toContain('Reprendre');
    expect((await admin.send('POST', `${M}/schedules/${id}/resume`, { form: {} })).status).toBe(303);
    r = row((await admin.send('GET', `${M}/schedules`)).text);
    expect(r).toContain('data-enabled="1"');
    expect((await admin.send('POST', `${M}/schedules/${id}/delete`, { form: {} })).status).toBe(303);
    expect(row((await admin.send('GET', `${M}/schedules`)).text)).toBe('');
    expect(shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_schedules').get()).toEqual({ n: 0 });
  });
});
