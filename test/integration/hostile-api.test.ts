/**
 * Issue 17 item 5: bad input on every REST API route is a 4xx JSON error naming the field, never
 * a 500, never a change. The route table is checked against the API router's stack, so a new
 * route without probes fails here. Probes: no token, bad JSON, a body that is not an object,
 * type confusion ({toString:…}, arrays, numbers, null), unknown fields, a huge body, a wrong
 * Content-Type, bad ids in the path (traversal, NUL, too long), confused query strings, and every
 * hostile string of test/helpers/hostile.ts in every action field.
 */
import { apiRouter, type ApiDeps } from '../../src/http/api/api-router';
import { ALL_STRINGS, errorLines, TRAVERSAL } from '../helpers/hostile';
import { startTestShell, type TestShell } from '../helpers/test-shell';
import { apiCall, mountedRoutes, tokenFor, type ApiReply } from '../helpers/api-client';

/** Every API route, with a URL that reaches it (ids that exist nowhere: probes must change nothing). */
const ROUTES: Record<string, string> = {
  'GET /openapi.json': '/openapi.json',
  'GET /readiness': '/readiness',
  'GET /parcs': '/parcs',
  'GET /parcs/{parc}/machines': '/parcs/salle101/machines',
  'GET /machines/{machine}/report': '/machines/s101-pc01/report',
  'GET /actions': '/actions',
  'POST /actions': '/actions',
  'GET /actions/{id}': '/actions/a_xxxxxxxxxxxxxxxxxxxxxx',
  'GET /actions/{id}/events': '/actions/a_xxxxxxxxxxxxxxxxxxxxxx/events',
  'POST /actions/{id}/cancel': '/actions/a_xxxxxxxxxxxxxxxxxxxxxx/cancel',
  'POST /actions/{id}/start': '/actions/a_xxxxxxxxxxxxxxxxxxxxxx/start',
  'POST /actions/{id}/retry-failed': '/actions/a_xxxxxxxxxxxxxxxxxxxxxx/retry-failed',
  'GET /images': '/images',
  'DELETE /images/{id}': '/images/999999',
  'POST /images/{id}/rename': '/images/999999/rename',
  'POST /images/{id}/protect': '/images/999999/protect',
  'GET /schedules': '/schedules',
  'POST /schedules': '/schedules',
  'DELETE /schedules/{id}': '/schedules/s_nosuch',
  'POST /schedules/{id}/pause': '/schedules/s_nosuch/pause',
  'POST /schedules/{id}/resume': '/schedules/s_nosuch/resume',
};
const CONFUSED = [{ toString: 1 }, { toString: { toString: 'x' } }, [{ a: 1 }], 12, 1e308, null, true, ['a', 3]];
const FIELDS = ['type', 'parc', 'emitter', 'machines', 'disk', 'image', 'cron', 'start', 'start_at', 'name', 'protected', '__proto__', 'constructor'];

describe('hostile input on the REST API', () => {
  let shell: TestShell;
  let token = '';
  let logMark = 0;
  const counts = () => shell.db.prepare(`SELECT (SELECT COUNT(*) FROM clonage_actions) AS a, (SELECT COUNT(*) FROM clonage_schedules) AS s,
    (SELECT COUNT(*) FROM clonage_backups) AS b, (SELECT COUNT(*) FROM clonage_image_protection) AS p`).get();
  let before: unknown;
  /** A refusal as the API promises it: 4xx, JSON {error:{code, message}}, no stack trace. */
  const refused = (what: string, r: ApiReply) => {
    expect([what, r.status >= 400 && r.status < 500]).toEqual([what, true]);
    expect([what, typeof r.body?.error?.code, typeof r.body?.error?.message]).toEqual([what, 'string', 'string']);
    expect(r.text).not.toMatch(/at \w+ \(|TypeError|SqliteError|node_modules/);
  };
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
    token = (await tokenFor(shell.url, 'admin')).token;
    before = counts();
    logMark = shell.logLines.length;
  });
  afterAll(async () => shell?.stopAndClean());
  afterEach(() => {
    expect(counts()).toEqual(before);
    expect(errorLines(shell.logLines, logMark)).toEqual([]);
  });

  test('the table holds every route the API router mounts', () => {
    expect(Object.keys(ROUTES).sort()).toEqual(mountedRoutes(apiRouter({} as ApiDeps)));
  });

  const entries = Object.entries(ROUTES);
  const withBody = entries.filter(([k]) => !k.startsWith('GET '));

  it.each(entries.filter(([k]) => k !== 'GET /openapi.json'))('%s: no token, or a bad one, is 401', async (route, url) => {
    const method = route.split(' ')[0];
    for (const authorization of [undefined, 'Bearer clo_0123456789abcdef_' + 'x'.repeat(43), 'Bearer ' + 'x'.repeat(5000), token.toUpperCase()]) {
      const r = await apiCall(shell.url, method, url, authorization ? { headers: { authorization: authorization.startsWith('Bearer') ? authorization : `Bearer ${authorization}` } } : {});
      refused(`${route} ${String(authorization).slice(0, 20)}`, r);
      expect(r.status).toBe(401);
    }
  });

  it.each(withBody)('%s: bad JSON, a non-object body, a wrong Content-Type, a huge body', async (route, url) => {
    const method = route.split(' ')[0];
    const probes: [string, Parameters<typeof apiCall>[3], number][] = [
      ['bad json', { raw: '{"type": ', headers: { 'content-type': 'application/json' } }, 400],
      ['array', { json: [1, 2] }, 400],
      ['string', { json: 'clone' }, 400],
      ['null', { raw: 'null', headers: { 'content-type': 'application/json' } }, 400],
      ['form', { raw: 'type=clone', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415],
      ['text', { raw: '{"type":"clone"}', headers: { 'content-type': 'text/plain' } }, 415],
      ['huge', { json: { type: 'report', parc: 'salle101', image: 'H'.repeat(200 * 1024) } }, 413],
      ['deep', { raw: '['.repeat(5000) + ']'.repeat(5000), headers: { 'content-type': 'application/json' } }, 400],
    ];
    for (const [what, o, status] of probes) {
      const r = await apiCall(shell.url, method, url, { token, ...o });
      refused(`${route} ${what}`, r);
      expect([route, what, r.status]).toEqual([route, what, status]);
    }
  });

  it.each(withBody)('%s: a field that is an object, an array, a number, a boolean or null is a 4xx', async (route, url) => {
    const method = route.split(' ')[0];
    for (const field of FIELDS) {
      for (const value of CONFUSED) {
        const raw = `{"type":"report","parc":"salle101","machines":["s101-pc01"],"start":"at","start_at":"2099-01-01T00:00:00Z",${JSON.stringify(field)}:${JSON.stringify(value)}}`;
        refused(`${route} ${field}=${JSON.stringify(value)}`, await apiCall(shell.url, method, url, { token, raw, headers: { 'content-type': 'application/json' } }));
      }
    }
  });

  it.each(entries.filter(([k]) => k.includes('{')))('%s: bad ids in the path are a 4xx', async (route) => {
    const method = route.split(' ')[0];
    const path = route.split(' ')[1];
    for (const bad of [...TRAVERSAL.map(encodeURIComponent), '%00', '%ZZ', 'x'.repeat(3000), 'a_' + 'x'.repeat(200), '..', '%2e%2e', '-1', '1e3', '0x10', 'constructor', '__proto__']) {
      const url = path.replace(/\{[a-z]+\}/, bad);
      const r = await apiCall(shell.url, method, url, method === 'GET' ? { token } : { token, json: {} });
      refused(`${route} ${bad.slice(0, 30)}`, r);
    }
  });

  it.each(entries.filter(([k]) => k !== 'GET /openapi.json'))('%s: confused query strings are a 4xx or ignored, never a 500', async (route, url) => {
    const method = route.split(' ')[0];
    for (const q of ['type[]=clone', 'state=running&state=finished', 'toString=1', '__proto__[x]=1', 'machine=' + 'x'.repeat(5000), 'from=2026-13-45', 'confirmLast=yes',
      'parc=../../etc', 'machine[toString]=1']) {
      const r = await apiCall(shell.url, method, `${url}?${q}`, method === 'GET' ? { token } : { token, json: {} });
      expect([route, q, r.status < 500]).toEqual([route, q, true]);
      if (r.status >= 400) refused(`${route} ?${q}`, r);
    }
  });

  it.each([['POST /actions', '/actions'], ['POST /schedules', '/schedules']])('%s: every hostile string in every field is a 4xx naming the field', async (route, url) => {
    for (const field of ['type', 'parc', 'emitter', 'machines', 'disk', 'compression', 'image', 'source', 'store', 'storage_part', 'auto_reboot', 'min_wait', 'cron', 'start', 'start_at', 'domain']) {
      for (const value of ALL_STRINGS) {
        // each field on a type that uses it (a field another type uses is refused for that reason alone)
        const type = ['emitter', 'domain', 'min_wait'].includes(field) ? 'clone' : field === 'source' ? 'deploy' : 'backup';
        const base = type === 'clone' ? { emitter: 's101-pc01', machines: ['s101-pc02'] } : { machines: ['s101-pc01'] };
        const timing = field === 'start_at' ? { start: 'at' } : { start: 'cron', cron: '30 18 * * 5' };
        const body = { type, parc: 'salle101', ...base, ...timing, ...(field === 'storage_part' ? { store: 'partition' } : {}),
          [field]: field === 'machines' ? [value] : value };
        const r = await apiCall(shell.url, 'POST', url, { token, json: body });
        refused(`${route} ${field}=${value.slice(0, 20)}`, r);
        if (r.status === 400 && r.body.error.code === 'invalid_field') expect(typeof r.body.error.field).toBe('string');
      }
    }
  });
});
