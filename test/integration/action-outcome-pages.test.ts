/**
 * Issue 16 item 4 (and the titles of item 8): an action where 1 PC of 3 failed is "terminée avec
 * erreurs" with its counts, named by type, parc and date (never its id), and offers "relancer les
 * postes en échec": a new action, same parameters, on that PC only. Deploy is in the wizard's
 * type list and the list filter. Rights and CSRF on the retry.
 */
import { actionState, agent, Client, createAction, jobOf, targetStates, untilArmed } from '../helpers/hostile';
import { startTestShell, type TestShell } from '../helpers/test-shell';

const M = '/modules/clonage';
const MAC: Record<string, string> = { 's101-pc01': '52:54:00:12:00:0b', 's101-pc02': '52:54:00:12:00:0c', 's101-pc03': '52:54:00:12:00:0d' };

describe('partial results and retry of the failed PCs', () => {
  let shell: TestShell;
  let first = '';
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
  });
  afterAll(async () => shell?.stopAndClean());

  test('1 of 3 failed: "terminée avec erreurs", counts, a retry button; the list names the action', async () => {
    const admin = await Client.as(shell.url, 'admin');
    first = await createAction(admin, { type: 'report', parc: 'salle101', machine: Object.keys(MAC), auto_reboot: 'never', start: 'now' });
    await untilArmed(shell, first, 3);
    for (const [name, mac] of Object.entries(MAC)) {
      const j = await jobOf(shell.url, mac);
      expect((await agent(shell.url, 'GET', j.jobId, j.token)).status).toBe(200);
      const status = name === 's101-pc02' ? 'failed' : 'succeeded';
      // how each PC booted (issue 13): pc01 UEFI with Secure Boot, pc03 BIOS, pc02 an older agent
      const boot: Record<string, string> = { 's101-pc01': { firmware: 'uefi', secure_boot: 'on' }, 's101-pc03': { firmware: 'bios', secure_boot: 'off' } }[name] ?? {};
      expect((await agent(shell.url, 'POST', `${j.jobId}/result`, j.token, { form: { status, exit_code: status === 'failed' ? '3' : '0', ...boot } })).status).toBe(200);
    }
    expect(actionState(shell.db, first)).toBe('failed');
    const page = (await admin.send('GET', `${M}/actions/${first}`)).text;
    expect(page).toMatch(/data-outcome="partial"[^>]*>terminée avec erreurs</);
    expect(page).toContain('2 sur 3 réussis, 1 en échec');
    expect(page).toContain('Relancer les postes en échec');
    const bootOf = (name: string) => new RegExp(`<tr data-target="[^"]+" data-name="${name}">[\\s\\S]*?</td>`).exec(page)![0].match(/data-field="boot"[^>]*>([^<]*)</)?.[1];
    expect(['s101-pc01', 's101-pc02', 's101-pc03'].map(bootOf)).toEqual(['démarré en UEFI, Secure Boot : activé', undefined, 'démarré en BIOS']);
    expect(page).toMatch(/<h1>Remontée de rapport — salle101 — \d\d\/\d\d\/\d{4}/);
    expect(page).not.toMatch(/<h1>[^<]*a_/);
    const list = (await admin.send('GET', `${M}/actions`)).text;
    const row = new RegExp(`<tr data-action="${first}">[\\s\\S]*?</tr>`).exec(list)![0];
    expect(row).toMatch(/>Remontée de rapport — salle101 — /);
    expect(row).not.toContain(`>${first}<`);
    expect(row).toContain('terminée avec erreurs');
  });

  test('rights and CSRF: another parc’s technician and a forged POST change nothing', async () => {
    const before = shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get();
    const prof = await Client.as(shell.url, 'prof1');
    expect((await prof.send('POST', `${M}/actions/${first}/retry`, { form: {} })).status).toBe(403);
    const admin = await Client.as(shell.url, 'admin');
    expect((await admin.send('POST', `${M}/actions/${first}/retry`, { form: {}, csrf: false })).status).toBe(403);
    expect((await admin.send('POST', `${M}/actions/a_nosuchaction0/retry`, { form: {} })).status).toBe(404);
    expect(shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual(before);
  });

  test('retry: a new action on the failed PC only, same parameters; retrying again while it runs is refused in French', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const r = await admin.send('POST', `${M}/actions/${first}/retry`, { form: {} });
    expect(r.status).toBe(303);
    const second = r.location!.split('?')[0].split('/').pop()!;
    expect(second).not.toBe(first);
    expect(Object.keys(targetStates(shell.db, second))).toEqual(['s101-pc02']);
    const params = (id: string) => (shell.db.prepare('SELECT params_json AS p FROM clonage_actions WHERE id = ?').get(id) as { p: string }).p;
    expect(params(second)).toBe(params(first));
    const again = await admin.send('POST', `${M}/actions/${first}/retry`, { form: {} });
    expect(again.status).toBe(303);
    expect((await admin.send('GET', again.location!)).text).toContain('Déjà dans une autre action non terminée');
    await untilArmed(shell, second, 4);
  });

  test('deploy is offered in the wizard and accepted by the list filter', async () => {
    const admin = await Client.as(shell.url, 'admin');
    expect((await admin.send('GET', `${M}/actions/new?parc=salle101`)).text).toMatch(/<option value="deploy">Déploiement multicast/);
    const list = await admin.send('GET', `${M}/actions?type=deploy`);
    expect(list.status).toBe(200);
    expect(list.text).toMatch(/<option value="deploy" selected>/);
  });
});
