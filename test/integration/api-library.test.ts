/**
 * Issue 17 item 3: images (list, rename, protect, delete with the last-good-image rule),
 * schedules (create with the wizard's rules, list, pause, resume, delete), a machine's report
 * and an action's live events through the REST API, each with the delegated admin's limits.
 * Responses are validated against the schemas of the served OpenAPI document.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { OPENAPI_DOCUMENT } from '../../src/http/api/openapi';
import { startTestShell, type TestShell } from '../helpers/test-shell';
import { API, apiCall, tokenFor } from '../helpers/api-client';
import { addImage } from '../helpers/library-fixtures';

const PC01 = '52:54:00:12:00:0b';
const CDI01 = '52:54:00:12:00:17';

const ajv = new Ajv2020({ strict: false });
ajv.addSchema({ ...OPENAPI_DOCUMENT, $id: 'openapi' });
/** The response body matches the document's schema `name` (an array of them with `[]`). */
function conforms(name: string, body: unknown): void {
  const list = name.endsWith('[]');
  const check = ajv.getSchema(`openapi#/components/schemas/${list ? name.slice(0, -2) : name}`)!;
  for (const item of list ? (body as unknown[]) : [body]) {
    expect([name, check(item), check.errors ?? null]).toEqual([name, true, null]);
  }
}

describe('REST API: images, schedules, reports, live events', () => {
  let shell: TestShell;
  let admin = '';
  let tech = '';
  const call = (method: string, p: string, o: Parameters<typeof apiCall>[3] = {}) => apiCall(shell.url, method, p, o);
  const id: Record<string, number> = {};
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
    admin = (await tokenFor(shell.url, 'admin')).token;
    tech = (await tokenFor(shell.url, 'tech1')).token;
    id.a = addImage(shell, PC01, 's101-pc01', 'img_a', '2026-11-01T18:30:00.000Z');
    id.b = addImage(shell, PC01, 's101-pc01', 'img_b', '2026-11-08T18:30:00.000Z');
    id.cdi = addImage(shell, CDI01, 'cdi-pc01', 'img_cdi', '2026-11-02T18:30:00.000Z');
  });
  afterAll(async () => shell?.stopAndClean());

  test('images: a delegated admin lists only theirs; rename, protect; the last good image needs confirmLast', async () => {
    const mine = await call('GET', '/images', { token: tech });
    expect(mine.status).toBe(200);
    conforms('Image[]', mine.body);
    expect(mine.body.map((i: { name: string }) => i.name).sort()).toEqual(['img_a', 'img_b']);
    expect((await call('GET', '/images', { token: admin })).body).toHaveLength(3);
    expect((await call('GET', '/images?machine=s101-pc01', { token: admin })).body).toHaveLength(2);
    // the other parc's image: neither changed nor deleted
    expect((await call('POST', `/images/${id.cdi}/rename`, { token: tech, json: { name: 'x' } })).status).toBe(403);
    expect((await call('DELETE', `/images/${id.cdi}`, { token: tech })).status).toBe(403);
    const bad = await call('POST', `/images/${id.a}/rename`, { token: tech, json: { name: '../x' } });
    expect(bad.body.error).toMatchObject({ code: 'invalid_field', field: 'name' });
    const renamed = await call('POST', `/images/${id.a}/rename`, { token: tech, json: { name: 'img_renamed' } });
    expect(renamed.status).toBe(200);
    conforms('Image', renamed.body.image);
    expect(renamed.body.image.name).toBe('img_renamed');
    expect(fs.existsSync(path.join(shell.dataDir, 'modules/clonage/images', PC01.replace(/:/g, '-'), 'img_renamed', 'manifest.json'))).toBe(true);
    const prot = await call('POST', `/images/${id.b}/protect`, { token: tech, json: { protected: true } });
    expect(prot.body.image).toMatchObject({ protected: true, retention: 'protected' });
    expect((await call('POST', `/images/${id.b}/protect`, { token: tech, json: { protected: 'yes' } })).body.error.field).toBe('protected');
    expect((await call('POST', `/images/${id.b}/protect`, { token: tech, json: { protected: false } })).body.image.protected).toBe(false);
    expect((await call('DELETE', `/images/${id.a}`, { token: tech })).status).toBe(200);
    const last = await call('DELETE', `/images/${id.b}`, { token: tech, headers: { 'accept-language': 'en' } });
    expect(last.status).toBe(409);
    expect(last.body.error).toMatchObject({ code: 'conflict' });
    expect(last.body.error.message).toMatch(/last good image of s101-pc01/);
    expect((await call('DELETE', `/images/${id.b}?confirmLast=1`, { token: tech })).status).toBe(200);
    expect((await call('GET', '/images', { token: tech })).body).toEqual([]);
  });

  test('schedules: created with the wizard\'s rules, listed, paused, resumed, deleted; another parc\'s is out of reach', async () => {
    const bad = await call('POST', '/schedules', { token: tech, json: { type: 'clone', parc: 'salle101', emitter: 's101-pc01', machines: ['s101-pc02'], cron: '0 3 * * *' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('cron');
    expect(bad.body.error.message).toBe('seules les sauvegardes et les remontées de rapport peuvent se répéter');
    const made = await call('POST', '/schedules', { token: tech, json: { type: 'backup', parc: 'salle101', machines: ['s101-pc01', 's101-pc02'], cron: '30 18 * * 5', store: 'server' } });
    expect(made.status).toBe(201);
    conforms('Schedule', made.body.schedule);
    const sid = made.body.schedule.id;
    expect(made.body.schedule).toMatchObject({ type: 'backup', cron: '30 18 * * 5', parcs: ['salle101'], createdBy: 'tech1', enabled: true });
    expect(made.body.schedule.nextRuns).toHaveLength(3);
    const cdi = await call('POST', '/schedules', { token: admin, json: { type: 'report', parc: 'cdi', machines: ['cdi-pc01'], cron: '0 7 * * 1' } });
    expect(cdi.status).toBe(201);
    const listed = await call('GET', '/schedules', { token: tech });
    conforms('Schedule[]', listed.body);
    expect(listed.body.map((s: { id: string }) => s.id)).toEqual([sid]);
    for (const p of ['pause', 'resume']) expect((await call('POST', `/schedules/${cdi.body.schedule.id}/${p}`, { token: tech })).status).toBe(403);
    expect((await call('DELETE', `/schedules/${cdi.body.schedule.id}`, { token: tech })).status).toBe(403);
    expect((await call('POST', `/schedules/${sid}/pause`, { token: tech })).body.schedule).toMatchObject({ enabled: false, nextRuns: [] });
    expect((await call('POST', `/schedules/${sid}/resume`, { token: tech })).body.schedule.enabled).toBe(true);
    expect((await call('DELETE', `/schedules/${sid}`, { token: tech })).body).toEqual({ deleted: sid });
    expect((await call('DELETE', `/schedules/${sid}`, { token: tech })).status).toBe(404);
    expect((await call('DELETE', `/schedules/${cdi.body.schedule.id}`, { token: admin })).status).toBe(200);
  });

  test('a machine\'s report, parcs, machines and readiness conform to the document', async () => {
    shell.db.prepare('INSERT INTO clonage_reports (mac, name, created_at, content) VALUES (?, ?, ?, ?)')
      .run(PC01, 's101-pc01', '2026-11-20T08:00:00.000Z', 'disk=sda\nsize=8589934592\n');
    const r = await call('GET', '/machines/s101-pc01/report', { token: tech });
    expect(r.status).toBe(200);
    conforms('MachineReport', r.body);
    expect(r.body.report.createdAt).toBe('2026-11-20T08:00:00.000Z');
    expect((await call('GET', '/machines/cdi-pc01/report', { token: tech })).status).toBe(404);
    const machines = await call('GET', '/parcs/salle101/machines', { token: tech });
    conforms('Machine[]', machines.body);
    expect(machines.body[0].lastReportAt).toBe('2026-11-20T08:00:00.000Z');
    conforms('Parc[]', (await call('GET', '/parcs', { token: tech })).body);
    conforms('Readiness', (await call('GET', '/readiness', { token: tech })).body);
  });

  test('live events: the action page\'s stream, in the caller\'s language, for their own actions only', async () => {
    const created = await call('POST', '/actions', { token: tech, json: { type: 'report', parc: 'salle101', machines: ['s101-pc03'], start: 'at', start_at: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(created.status).toBe(201);
    conforms('Action', created.body.action);
    const aid = created.body.action.id;
    conforms('ActionSummary[]', (await call('GET', '/actions', { token: tech })).body);
    const ctl = new AbortController();
    const res = await fetch(`${shell.url}${API}/actions/${aid}/events`, { headers: { authorization: `Bearer ${tech}`, 'accept-language': 'en' }, signal: ctl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    ctl.abort();
    expect(text).toMatch(/^event: snapshot\ndata: /);
    const snapshot = JSON.parse(text.split('\n')[1].slice('data: '.length));
    expect(snapshot.id).toBe(aid);
    expect(snapshot.events[0].message).toMatch(/^created by tech1/);
    const cdi = await call('POST', '/actions', { token: admin, json: { type: 'report', parc: 'cdi', machines: ['cdi-pc02'], start: 'at', start_at: new Date(Date.now() + 3_600_000).toISOString() } });
    expect((await call('GET', `/actions/${cdi.body.action.id}/events`, { token: tech })).status).toBe(403);
    await call('POST', `/actions/${aid}/cancel`, { token: tech });
    await call('POST', `/actions/${cdi.body.action.id}/cancel`, { token: admin });
  });
});
