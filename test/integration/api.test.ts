/**
 * Issue 17 item 3: the REST API under /modules/clonage/api/v1 with per-admin tokens. Tokens are
 * created on their page (shown once, only a hash at rest), revoked there (then 401); a token acts
 * with its owner's current rights (a delegated admin sees and acts on their parcs only, an owner
 * without the right is refused); a session cookie alone is refused. Actions: create with the
 * wizard's rules and messages (fr/en), list, get, cancel, retry the failed PCs.
 */
import { ApiTokens } from '../../src/http/api/api-tokens';
import { memoryLogger } from '../../src/shell/logger';
import { Client } from '../helpers/hostile';
import { startTestShell, type TestShell } from '../helpers/test-shell';
import { API, apiCall, tokenFor } from '../helpers/api-client';

const M = '/modules/clonage';

describe('REST API', () => {
  let shell: TestShell;
  let admin = '';
  let tech = '';
  const call = (method: string, path: string, o: Parameters<typeof apiCall>[3] = {}) => apiCall(shell.url, method, path, o);
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
    admin = (await tokenFor(shell.url, 'admin')).token;
    tech = (await tokenFor(shell.url, 'tech1')).token;
  });
  afterAll(async () => shell?.stopAndClean());

  test('a token is shown once, kept only as a hash, listed with its last use, and revoked → 401', async () => {
    const { token, client, page } = await tokenFor(shell.url, 'tech1', 'mon script');
    expect(token).toMatch(/^clo_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(page).toContain('Copiez-le maintenant');
    const list = await client.send('GET', `${M}/tokens`);
    expect(list.text).toContain('mon script');
    expect(list.text).not.toContain(token);
    expect(list.text).not.toContain(token.slice(-43));
    const [, id, secret] = /^clo_([0-9a-f]{16})_(.+)$/.exec(token)!;
    const row = shell.db.prepare('SELECT * FROM clonage_api_tokens WHERE id = ?').get(id) as Record<string, unknown>;
    expect(row.owner).toBe('tech1');
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.last_used_at).toBeNull();
    expect((await call('GET', '/parcs', { token })).status).toBe(200);
    expect((shell.db.prepare('SELECT last_used_at FROM clonage_api_tokens WHERE id = ?').get(id) as { last_used_at: string }).last_used_at).toMatch(/^\d{4}-/);
    // a wrong secret with the right id, and a made-up token, are refused
    expect((await call('GET', '/parcs', { token: `clo_${id}_${'A'.repeat(43)}` })).status).toBe(401);
    // another admin cannot revoke it; its owner can
    const prof = await Client.as(shell.url, 'prof1');
    expect((await prof.send('POST', `${M}/tokens/${id}/revoke`, { form: {} })).status).toBe(403);
    expect((await client.send('POST', `${M}/tokens/${id}/revoke`, { form: {}, csrf: false })).status).toBe(403);
    expect((await client.send('POST', `${M}/tokens/${id}/revoke`, { form: {} })).status).toBe(303);
    const refused = await call('GET', '/parcs', { token });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(refused.body.error.code).toBe('unauthorized');
    expect((await client.send('GET', `${M}/tokens`)).text).not.toContain('mon script');
  });

  test('no token, a bad header, or a session cookie without its CSRF header: refused', async () => {
    expect((await call('GET', '/parcs')).status).toBe(401);
    for (const h of ['Basic YWRtaW46eA==', 'Bearer', 'Bearer clo_x', `Bearer ${admin} extra`]) {
      expect([h, (await call('GET', '/parcs', { headers: { authorization: h } })).status]).toEqual([h, 401]);
    }
    const browser = await Client.as(shell.url, 'admin');
    const viaSession = await browser.send('GET', `${API}/parcs`, { headers: { accept: 'application/json' } });
    expect(viaSession.status).toBe(403);
    expect(JSON.parse(viaSession.text).error.code).toBe('forbidden');
    const withCsrf = await browser.send('GET', `${API}/parcs`, { headers: { accept: 'application/json', 'x-csrf-token': browser.csrfToken } });
    expect(withCsrf.status).toBe(200);
  });

  test('rights are the owner\'s current ones: parcs delegated to tech1 only; an owner without parc_can_clone gets 403', async () => {
    expect((await call('GET', '/parcs', { token: admin })).body.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['salle101', 'cdi']));
    expect((await call('GET', '/parcs', { token: tech })).body).toEqual([{ name: 'salle101', machineCount: 12 }]);
    const machines = await call('GET', '/parcs/salle101/machines', { token: tech });
    expect(machines.status).toBe(200);
    expect(machines.body[0]).toMatchObject({ name: 's101-pc01', mac: '52:54:00:12:00:0b', reserved: true, busyActionId: null, lastReportAt: null });
    expect((await call('GET', '/parcs/cdi/machines', { token: tech })).status).toBe(403);
    expect((await call('GET', '/parcs/nosuch/machines', { token: admin })).status).toBe(404);
    const eleve = new ApiTokens(shell.db, { now: () => new Date() }, memoryLogger([])).create('eleve1', 'old token').token;
    const denied = await call('GET', '/parcs', { token: eleve });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('forbidden');
  });

  let actionId = '';

  test('create an action with the wizard\'s rules and messages (French, or English on request), then list, get, cancel', async () => {
    const bad = await call('POST', '/actions', { token: tech, json: { type: 'backup', parc: 'salle101', machines: ['s101-pc01'], disk: 'sda1' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_field', field: 'disk' });
    expect(bad.body.error.message).toContain('n’est pas un disque entier');
    const en = await call('POST', '/actions', { token: tech, json: { type: 'backup', parc: 'salle101', machines: ['s101-pc01'], disk: 'sda1' }, headers: { 'accept-language': 'en' } });
    expect(en.body.error.fields.disk).toMatch(/is not a whole disk/);
    const other = await call('POST', '/actions', { token: tech, json: { type: 'report', parc: 'cdi', machines: ['cdi-pc01'] } });
    expect(other.status).toBe(403);
    // dryRun: the wizard's step 4 (its summary, in the caller's language), nothing stored
    const count = () => shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get();
    const before = count();
    const dry = await call('POST', '/actions?dryRun=1', { token: tech, json: { type: 'report', parc: 'salle101', machines: ['s101-pc01'] }, headers: { 'accept-language': 'en' } });
    expect(dry.status).toBe(200);
    expect(dry.body.summary).toEqual(expect.arrayContaining([{ label: 'Action', value: 'Hardware report' }, { label: 'Computers', value: 's101-pc01' }]));
    expect((await call('POST', '/actions?dryRun=1', { token: tech, json: { type: 'report', parc: 'salle101', machines: ['nosuch'] } })).status).toBe(400);
    expect((await call('POST', '/actions?dryRun=yes', { token: tech, json: { type: 'report', parc: 'salle101', machines: ['s101-pc01'] } })).body.error.field).toBe('dryRun');
    expect(count()).toEqual(before);
    const start = new Date(Date.now() + 3_600_000).toISOString();
    const created = await call('POST', '/actions', { token: tech, json: { type: 'report', parc: 'salle101', machines: ['s101-pc01', 's101-pc02'], start: 'at', start_at: start } });
    expect(created.status).toBe(201);
    actionId = created.body.action.id;
    expect(created.body.action).toMatchObject({ type: 'report', state: 'scheduled', parcs: ['salle101'], createdBy: 'tech1' });
    expect(created.body.action.targets.map((t: { name: string }) => t.name)).toEqual(['s101-pc01', 's101-pc02']);
    const list = await call('GET', '/actions?state=pending', { token: tech });
    expect(list.body.map((a: { id: string }) => a.id)).toContain(actionId);
    expect((await call('GET', '/actions?state=bogus', { token: tech })).body.error).toMatchObject({ code: 'invalid_field', field: 'state' });
    const got = await call('GET', `/actions/${actionId}`, { token: tech });
    expect(got.body.action.events[0].message).toMatch(/^créée par tech1 : Remontée de rapport/);
    // busy machines are refused like in the wizard
    const busy = await call('POST', '/actions', { token: tech, json: { type: 'report', parc: 'salle101', machines: ['s101-pc01'] } });
    expect(busy.status).toBe(400);
    expect(busy.body.error.field).toBe('machines');
    const machines = await call('GET', '/parcs/salle101/machines', { token: tech });
    expect(machines.body[0].busyActionId).toBe(actionId);
    const cancelled = await call('POST', `/actions/${actionId}/cancel`, { token: tech });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.action.state).toBe('cancelled');
    expect((await call('POST', `/actions/${actionId}/cancel`, { token: tech })).body.error.code).toBe('conflict');
    expect((await call('POST', `/actions/${actionId}/start`, { token: tech })).status).toBe(409);
  });

  test('an action of another parc is invisible to a delegated admin; retry-failed makes a new action on the failed PCs', async () => {
    const cdi = await call('POST', '/actions', { token: admin, json: { type: 'report', parc: 'cdi', machines: ['cdi-pc01'], start: 'at', start_at: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(cdi.status).toBe(201);
    const cdiId = cdi.body.action.id;
    expect((await call('GET', `/actions/${cdiId}`, { token: tech })).status).toBe(403);
    expect((await call('POST', `/actions/${cdiId}/cancel`, { token: tech })).status).toBe(403);
    expect((await call('GET', '/actions', { token: tech })).body.map((a: { id: string }) => a.id)).not.toContain(cdiId);
    expect((await call('GET', '/actions', { token: admin })).body.map((a: { id: string }) => a.id)).toContain(cdiId);
    // a finished action with a failed PC: mark one target failed the way the engine records it
    shell.db.prepare("UPDATE clonage_targets SET state = CASE name WHEN 's101-pc01' THEN 'failed' ELSE 'succeeded' END WHERE action_id = ?").run(actionId);
    shell.db.prepare("UPDATE clonage_actions SET state = 'failed', finished_at = ? WHERE id = ?").run(new Date().toISOString(), actionId);
    const retried = await call('POST', `/actions/${actionId}/retry-failed`, { token: tech });
    expect(retried.status).toBe(201);
    expect(retried.body.action.targets.map((t: { name: string }) => t.name)).toEqual(['s101-pc01']);
    await call('POST', `/actions/${retried.body.action.id}/cancel`, { token: tech });
    expect((await call('POST', `/actions/${cdiId}/cancel`, { token: admin })).status).toBe(200);
  });

  test('readiness, unknown routes and ids, and the OpenAPI document without a token', async () => {
    const r = await call('GET', '/readiness', { token: admin, headers: { 'accept-language': 'en' } });
    expect(r.status).toBe(200);
    expect(['ok', 'warn', 'bad']).toContain(r.body.overall);
    expect(r.body.items.length).toBeGreaterThan(0);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect((await call('GET', '/nosuch', { token: admin })).body.error.code).toBe('not_found');
    expect((await call('GET', '/actions/a_nosuch', { token: admin })).status).toBe(404);
    const doc = await call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
  });
});
