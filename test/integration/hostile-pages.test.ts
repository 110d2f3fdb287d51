/**
 * Hostile inputs against every page and form of the REAL shell with the clonage module enabled
 * (docs/security.md lists the routes): the wizard, the configuration page, DHCP reservations,
 * module management, login and parcs. Each request must get a clear 4xx (never a 500, never a
 * 2xx/3xx that changed something), and the tables and generated files must be unchanged after it.
 */
import {
  allBootFiles, checkBootFile, errorLines, ALL_STRINGS, BAD_DISKS, BAD_IPS, BAD_MACS, BAD_NAMES, BIG, Client, createAction, installFakeToolkit, MARKUP, markersIn, raw,
  type Reply, type SendOptions, snapshot, TRAVERSAL, untilArmed,
} from '../helpers/hostile';
import { startTestShell, type TestShell } from '../helpers/test-shell';
import { expectUnchanged } from '../helpers/unchanged';

const M = '/modules/clonage';
const CLONE = { type: 'clone', parc: 'salle101', emitter: 's101-pc04', machine: ['s101-pc05', 's101-pc06'] };
const BACKUP = { type: 'backup', parc: 'salle101', machine: ['s101-pc07'] };
const RESERVATION = { name: 'newpc', ip: '10.77.0.60', mac: '52:54:00:aa:bb:01' };

describe('hostile inputs on the pages of the real shell', () => {
  // A hang guard, not a speed check: some tests below send hundreds of requests, each rendering a
  // page; a machine loaded by parallel suites (or by QEMU) slows them several times.
  jest.setTimeout(240_000);
  let shell: TestShell;
  const as: Record<'anon' | 'admin' | 'tech1' | 'prof1' | 'eleve1', Client> = {} as never;
  let s101Action: string;
  let cdiAction: string;

  beforeAll(async () => {
    // Dozens of hostile logins from one address: throttling has its own tests (hostile-login).
    shell = await startTestShell({ login: { maxFailuresPerLogin: 1000, maxFailuresPerAddress: 1000 } }, { autoEnable: ['clonage'], beforeStart: installFakeToolkit });
    as.anon = new Client(shell.url);
    as.anon.csrfToken = await as.anon.loginToken();
    for (const who of ['admin', 'tech1', 'prof1', 'eleve1'] as const) as[who] = await Client.as(shell.url, who);
    // One at a time: a creation during a running tick (the first one's wake-ups) is picked up by
    // the next periodic tick only (≤ 15 s).
    s101Action = await createAction(as.tech1, { type: 'clone', parc: 'salle101', emitter: 's101-pc01', machine: ['s101-pc02', 's101-pc03'] });
    await untilArmed(shell, s101Action, 3);
    cdiAction = await createAction(as.admin, { type: 'clone', parc: 'cdi', emitter: 'cdi-pc01', machine: ['cdi-pc02'] });
    await untilArmed(shell, cdiAction, 5);
  });
  afterAll(async () => {
    await shell?.stopAndClean();
  });

  /** Sends, then checks: an expected status, no 500, nothing changed, no markup reflected raw. */
  async function refused(who: keyof typeof as, method: string, path: string, o: SendOptions, expected: number[]): Promise<Reply> {
    const before = snapshot(shell);
    const r = await as[who].send(method, path, o);
    const label = `${who} ${method} ${path.slice(0, 80)} ${JSON.stringify(o.form ?? o.body ?? '').slice(0, 120)}`;
    expect({ label, status: r.status, ok: expected.includes(r.status) }).toEqual({ label, status: r.status, ok: true });
    expectUnchanged(snapshot(shell), before);
    // JSON answers (nosniff) may quote a value; HTML never shows one unescaped
    if (!r.type.startsWith('application/json')) for (const m of MARKUP) expect(r.text).not.toContain(m);
    expect(r.text).not.toMatch(/node_modules|at \w+ \(|Error: /);
    return r;
  }

  let logMark = 0;
  beforeEach(() => {
    logMark = shell.logLines.length;
  });
  afterEach(() => {
    expect(errorLines(shell.logLines, logMark)).toEqual([]);
  });

  it('the base forms used below are valid, so each refusal below is the hostile value\'s doing', async () => {
    for (const form of [CLONE, BACKUP]) {
      const r = await as.admin.send('POST', `${M}/actions`, { form }); // without confirm=1: the summary, nothing stored
      expect([form.type, r.status, r.text.includes("Lancer l'action")]).toEqual([form.type, 200, true]);
    }
  });

  const cloneFields = ['type', 'parc', 'emitter', 'machine', 'domain', 'disk', 'compression', 'min_receivers', 'min_wait', 'max_wait', 'start_timeout', 'auto_reboot', 'start'];
  it.each(cloneFields)('wizard POST: a hostile clone field %s is a 400 and creates nothing', async (field) => {
    const payloads = field === 'disk' ? [...ALL_STRINGS, ...BAD_DISKS] : ALL_STRINGS;
    for (const p of payloads) await refused('admin', 'POST', `${M}/actions`, { form: { ...CLONE, [field]: p } }, [400]);
    // repeated field where one value is expected
    if (!['parc', 'machine'].includes(field)) await refused('admin', 'POST', `${M}/actions`, { form: { ...CLONE, [field]: ['sda', 'sdb'] } }, [400]);
  });

  it.each(['disk', 'compression', 'image', 'auto_reboot', 'start_at', 'cron'])('wizard POST: a hostile backup field %s is a 400', async (field) => {
    const start: Record<string, string> = field === 'start_at' ? { start: 'at' } : field === 'cron' ? { start: 'cron' } : {};
    for (const p of ALL_STRINGS) await refused('admin', 'POST', `${M}/actions`, { form: { ...BACKUP, ...start, [field]: p } }, [400]);
  });

  it('wizard POST: JSON bodies with objects, arrays and booleans where text is expected are 400', async () => {
    for (const field of ['type', 'emitter', 'disk', 'min_wait', 'image', 'start', 'domain']) {
      for (const v of [{ $gt: '' }, ['sda', 'sdb'], true, { toString: 'x' }]) {
        const base = field === 'image' ? BACKUP : CLONE;
        const body = JSON.stringify({ ...base, [field]: v, confirm: '1', _csrf: as.admin.csrfToken });
        await refused('admin', 'POST', `${M}/actions`, { body, headers: { 'content-type': 'application/json', accept: 'application/json' } }, [400]);
      }
    }
  });

  it('wizard POST: a 2 MB body is 413; 6,000 fields (past the 2,000-machine form) are 413; an unknown charset is 415', async () => {
    await refused('admin', 'POST', `${M}/actions`, { form: { ...CLONE, disk: 'x'.repeat(2 * 1024 * 1024) } }, [413]);
    const many = Array.from({ length: 6000 }, (_, i) => `f${i}=1`).join('&');
    await refused('admin', 'POST', `${M}/actions`, { body: many, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, [413]);
    await refused('admin', 'POST', `${M}/actions`, { body: 'type=clone', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-16' } }, [415]);
    await refused('admin', 'POST', `${M}/actions`, { body: 'not gzip', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' } }, [400]);
    await refused('admin', 'POST', `${M}/actions`, { body: '{"type":', headers: { 'content-type': 'application/json' } }, [400]);
  });

  it('rights: eleve1 (no right) is refused everywhere', async () => {
    for (const p of ['/actions/new', '/actions', '/reports', '/reports/52:54:00:12:00:0b', '/config', `/actions/${s101Action}`, `/actions/${s101Action}/events`, '/actions/new/params?parc=salle101&type=clone']) {
      await refused('eleve1', 'GET', M + p, {}, [403]);
    }
    for (const p of [`${M}/actions`, `${M}/actions/${s101Action}/cancel`, `${M}/actions/${s101Action}/start-now`, `${M}/config`, '/dhcp/reservations', '/admin/modules/clonage/disable', '/dhcp/reservations/52:54:00:12:00:0b/delete']) {
      await refused('eleve1', 'POST', p, { form: { ...CLONE, ...RESERVATION, 'menu.mode': 'text', 'menu.timeoutSeconds': '5' } }, [403]);
    }
    await refused('eleve1', 'GET', '/dhcp', {}, [403]);
    await refused('eleve1', 'GET', '/admin/modules', {}, [403]);
  });

  it('delegation: tech1 (salle101 only) cannot see, create or change anything in cdi', async () => {
    for (const p of [`/actions/${cdiAction}`, `/actions/${cdiAction}/events`, '/actions/new?parc=cdi', '/actions/new/params?parc=cdi&type=clone', '/config', '/reports/52:54:00:12:00:17']) {
      await refused('tech1', 'GET', M + p, { headers: { accept: 'application/json' } }, [403]);
    }
    for (const p of [`/actions/${cdiAction}/cancel`, `/actions/${cdiAction}/start-now`, '/config']) await refused('tech1', 'POST', M + p, { form: {} }, [403]);
    const cdi = { type: 'clone', parc: 'cdi', emitter: 'cdi-pc04', machine: ['cdi-pc05'] };
    await refused('tech1', 'POST', `${M}/actions`, { form: cdi }, [403]);
    await refused('tech1', 'POST', `${M}/actions`, { form: { ...cdi, parc: ['salle101', 'cdi'] } }, [403]);
    // a cdi machine smuggled into a salle101 action: not in the chosen parcs
    await refused('tech1', 'POST', `${M}/actions`, { form: { ...CLONE, emitter: 'cdi-pc04' } }, [400]);
    await refused('tech1', 'POST', `${M}/actions`, { form: { ...CLONE, machine: ['s101-pc05', 'cdi-pc05'] } }, [400]);
    await refused('tech1', 'GET', '/dhcp', {}, [403]);
    await refused('tech1', 'POST', '/dhcp/reservations', { form: RESERVATION }, [403]);
    await refused('tech1', 'POST', '/admin/modules/clonage/disable', { form: {} }, [403]);
    // prof1 holds the right through a group but has no delegated parc
    await refused('prof1', 'POST', `${M}/actions`, { form: CLONE }, [403]);
  });

  it('CSRF: every POST without, with a wrong or with another session\'s token is 403', async () => {
    const posts: [string, Record<string, string | string[]>][] = [
      [`${M}/actions`, CLONE], [`${M}/actions/${s101Action}/cancel`, {}], [`${M}/actions/${s101Action}/start-now`, {}],
      [`${M}/config`, { 'menu.mode': 'graphical', 'menu.timeoutSeconds': '3', 'menu.maintenancePasswordHash': 'abcdefgh12' }],
      ['/dhcp/reservations', RESERVATION], ['/dhcp/reservations/52:54:00:12:00:0b/delete', {}], ['/admin/modules/clonage/disable', {}],
      [`${M}/config/toolkits/clonage/remove`, {}], ['/logout', {}],
    ];
    for (const [p, form] of posts) {
      await refused('admin', 'POST', p, { form, csrf: false }, [403]);
      await refused('admin', 'POST', p, { form: { ...form, _csrf: 'A'.repeat(43) }, csrf: false }, [403]);
      await refused('admin', 'POST', p, { form: { ...form, _csrf: as.tech1.csrfToken }, csrf: false }, [403]);
      await refused('admin', 'POST', p, { form, csrf: false, headers: { 'x-csrf-token': `${as.admin.csrfToken}x` } }, [403]);
      await refused('anon', 'POST', p, { form: { ...form, _csrf: as.admin.csrfToken } }, [401, 403]);
    }
    // a forged session cookie is no session
    const forged = await raw(shell.url, 'POST', `${M}/actions`, { form: CLONE, headers: { cookie: 'shell_session=../../etc/passwd' } });
    expect(forged.status).toBe(401);
    expect((await as.admin.send('GET', `${M}/actions`)).status).toBe(200); // the refused logouts logged nobody out
  });

  it('configuration page: bad mode, timeout and maintenance passwords are 400 and save nothing', async () => {
    const ok = { 'menu.mode': 'text', 'menu.timeoutSeconds': '8' };
    for (const p of [...ALL_STRINGS, '-1', '601', '1e2', '0x10', '8.5']) {
      await refused('admin', 'POST', `${M}/config`, { form: { ...ok, 'menu.mode': p } }, [400]);
      await refused('admin', 'POST', `${M}/config`, { form: { ...ok, 'menu.timeoutSeconds': p } }, [400]);
    }
    // the wizard defaults on the same form end up in job descriptions: same rules as an action's fields
    const defaults = { ...ok, 'clone.disk': 'sda', 'clone.compression': 'zstd', 'clone.autoReboot': 'always', 'clone.domain': 'none', 'clone.minWaitMinutes': '10',
      'clone.maxWaitMinutes': '15', 'clone.startTimeoutMinutes': '20', 'backup.retention': 'keep-last-3', 'wake.method': 'wol' };
    for (const field of Object.keys(defaults).filter((k) => !(k in ok))) {
      for (const p of field === 'clone.disk' ? [...ALL_STRINGS, ...BAD_DISKS] : ALL_STRINGS) {
        await refused('admin', 'POST', `${M}/config`, { form: { ...defaults, [field]: p } }, [400]);
      }
    }
    for (const pw of ['short', 'nine-char', 'new\nline-password', 'tab\there-pw', 'accentué-pw', BIG, 'x'.repeat(65), 'nul\0byte-pw']) {
      await refused('admin', 'POST', `${M}/config`, { form: { ...ok, 'menu.maintenancePasswordHash': pw } }, [400]);
    }
    expect((await as.admin.send('POST', `${M}/config`, { form: defaults })).status).toBe(303); // the base was valid
  });

  it('configuration page, toolkits: hostile names, URLs and checksums are 4xx; nothing is built, fetched or removed', async () => {
    const dl = { name: 'sysresc', version: '1', entries: 'shell', kernelUrl: 'http://127.0.0.1:9/vmlinuz', kernelSha256: 'a'.repeat(64) };
    await refused('admin', 'POST', `${M}/config/toolkits/download`, { form: { ...dl, name: 'clonage' } }, [400]); // reserved
    for (const p of [...ALL_STRINGS, ...TRAVERSAL]) {
      await refused('admin', 'POST', `${M}/config/toolkits/download`, { form: { ...dl, name: p } }, [400]);
      await refused('admin', 'POST', `${M}/config/toolkits/download`, { form: { ...dl, kernelUrl: p } }, [400]);
      await refused('admin', 'POST', `${M}/config/toolkits/download`, { form: { ...dl, kernelSha256: p } }, [400]);
      await refused('admin', 'POST', `${M}/config/toolkits/download`, { form: { ...dl, version: p } }, [400]);
      if (p !== BIG) await refused('admin', 'GET', `${M}/config/toolkits/jobs/${encodeURIComponent(p)}`, { headers: { accept: 'application/json' } }, [404]);
      if (p !== BIG) await refused('admin', 'POST', `${M}/config/toolkits/${encodeURIComponent(p)}/remove`, { form: {} }, [400, 404]);
    }
    for (const u of ['file:///etc/passwd', 'ftp://x/vmlinuz', 'http://x/a b', 'gopher://127.0.0.1:25/', 'http://x/\nHOSTILE']) {
      await refused('admin', 'POST', `${M}/config/toolkits/download`, { form: { ...dl, kernelUrl: u } }, [400]);
    }
    await refused('admin', 'POST', `${M}/config/toolkits/download`, { form: { ...dl, entries: 'HOSTILE' } }, [400]);
    for (const [who, csrf] of [['tech1', true], ['eleve1', true], ['admin', false]] as const) {
      for (const p of ['/config/toolkits/build', '/config/toolkits/download', '/config/toolkits/clonage/remove']) {
        await refused(who, 'POST', M + p, { form: dl, csrf }, [403]);
      }
    }
  });

  it('DHCP reservations: malformed MACs, IPs and names are 400/409 and the dnsmasq files are unchanged', async () => {
    const cases = [
      ...BAD_MACS.map((mac) => ({ ...RESERVATION, mac })), ...BAD_IPS.map((ip) => ({ ...RESERVATION, ip })),
      ...BAD_NAMES.map((name) => ({ ...RESERVATION, name })),
      ...ALL_STRINGS.flatMap((p) => [{ ...RESERVATION, mac: p }, { ...RESERVATION, ip: p }, { ...RESERVATION, name: p }]),
      { ...RESERVATION, ip: '10.77.0.11' }, { ...RESERVATION, mac: '52:54:00:12:00:0b' },
    ];
    for (const form of cases) await refused('admin', 'POST', '/dhcp/reservations', { form }, [400, 409]);
    for (const p of [...BAD_MACS, ...TRAVERSAL, ';reboot', '$(id)', '52:54:00:99:99:99']) {
      await refused('admin', 'POST', `/dhcp/reservations/${encodeURIComponent(p)}/delete`, { form: {} }, [400, 404]);
    }
    // the base reservation was valid: it is added, then removed again
    expect((await as.admin.send('POST', '/dhcp/reservations', { form: RESERVATION })).status).toBe(303);
    expect((await as.admin.send('POST', `/dhcp/reservations/${encodeURIComponent(RESERVATION.mac)}/delete`, { form: {} })).status).toBe(303);
  });

  it('module management, parcs, static files: hostile ids and paths are 4xx', async () => {
    for (const p of [...TRAVERSAL, ';reboot', '$(id)', 'dhcp', 'probe']) {
      await refused('admin', 'POST', `/admin/modules/${encodeURIComponent(p)}/enable`, { form: {} }, [400, 404]);
      await refused('admin', 'POST', `/admin/modules/clonage/${encodeURIComponent(p)}`, { form: {} }, [400, 404]);
      if (p === 'dhcp' || p === 'probe') continue;
      await refused('admin', 'GET', `/parcs/${encodeURIComponent(p)}`, {}, [400, 404]);
      await refused('admin', 'GET', `/static/${p}`, {}, [400, 403, 404]);
    }
    await refused('admin', 'GET', '/static/..%2f..%2fshell.sqlite', {}, [400, 403, 404]);
    // malformed %-escapes in path parameters (the router cannot decode them)
    for (const p of ['/parcs/%A', `${M}/actions/%E0%A4%A`, `${M}/actions/%ZZ/events`, '/modules/%A/actions', `${M}/boot/files/%A/vmlinuz`, `${M}/config/toolkits/jobs/%`]) {
      await refused('admin', 'GET', p, {}, [400, 404]);
    }
    for (const p of ['/dhcp/reservations/%A/delete', '/admin/modules/%A/enable', `${M}/actions/%A/cancel`, `${M}/config/toolkits/%A/remove`]) {
      await refused('admin', 'POST', p, { form: {} }, [400, 404]);
    }
  });

  it('module GET pages: hostile filters, parcs and action ids are 4xx', async () => {
    for (const p of [...ALL_STRINGS.slice(0, -1), ...TRAVERSAL]) {
      const q = encodeURIComponent(p);
      for (const key of ['type', 'state', 'parc', 'machine', 'from', 'to']) await refused('admin', 'GET', `${M}/actions?${key}=${q}`, {}, [400]);
      await refused('admin', 'GET', `${M}/actions/new?parc=${q}`, {}, [400, 404]);
      await refused('admin', 'GET', `${M}/actions/new/params?type=clone&parc=${q}`, {}, [400, 404]);
      await refused('admin', 'GET', `${M}/reports/${q}`, {}, [400, 404]);
      await refused('admin', 'GET', `${M}/reports/52:54:00:12:00:0b?report=${q}`, {}, [404]);
      await refused('admin', 'GET', `${M}/actions/${q}`, {}, [404]);
      await refused('admin', 'GET', `${M}/actions/${q}/events`, {}, [404]);
      await refused('admin', 'POST', `${M}/actions/${q}/cancel`, { form: {} }, [404]);
      await refused('admin', 'POST', `${M}/actions/a_${q}/start-now`, { form: {} }, [404]);
    }
  });

  it('reflected values are escaped: the wizard shows hostile values back only as text', async () => {
    for (const m of MARKUP) {
      const r = await refused('admin', 'GET', `${M}/actions/new/params?parc=salle101&type=backup&machine=s101-pc07&disk=${encodeURIComponent(m)}&image=${encodeURIComponent(m)}`, {}, [200]);
      expect(r.text).toContain('&lt;');
      await refused('admin', 'POST', `${M}/actions`, { form: { ...BACKUP, image: m } }, [400]);
    }
  });

  it('login: hostile logins and passwords are 401 without a session; next never leaves the site', async () => {
    const sessions = () => shell.db.prepare('SELECT COUNT(*) AS n FROM shell_sessions').get();
    const n = sessions();
    for (const login of [...ALL_STRINGS, '*)(uid=*))(|(uid=*', 'admin)(|(password=*)', 'admin\0', 'admin;']) {
      await refused('anon', 'POST', '/login', { form: { login, password: 'admin-test-pw' } }, [401]);
    }
    for (const password of ['*', BIG, 'admin-test-pw\0', "' OR '1'='1"]) await refused('anon', 'POST', '/login', { form: { login: 'admin', password } }, [401, 413]);
    expect(sessions()).toEqual(n);
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '/%0d%0aSet-Cookie:x=1']) {
      const c = new Client(shell.url);
      const r = await c.send('POST', '/login', { form: { login: 'admin', password: 'admin-test-pw', next, _csrf: await c.loginToken() }, csrf: false });
      expect([next, r.status, r.location]).toEqual([next, 303, expect.stringMatching(/^\/(?!\/)/)]);
      expect(markersIn(r.location ?? '')).toEqual([]);
      expect(r.location).not.toMatch(/evil|\r|\n|javascript/);
    }
  });

  it('after all of it, no boot file carries a hostile value', async () => {
    const files = await allBootFiles(shell);
    expect(Object.entries(files).flatMap(([name, text]) => checkBootFile(name, text))).toEqual([]);
    expect(Object.values(files).filter((t) => t.includes('clonage.token=')).length).toBe(15); // 5 armed MACs × (pxelinux + GRUB + iPXE)
  });
});
