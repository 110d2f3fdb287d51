/**
 * Issue 12 on the real shell: login throttling (per login, per address, kept in SQLite across a
 * restart), the login form's CSRF token, `{toString:…}` type confusion on every form route, and
 * flash messages that are server-side ids, never text from the URL.
 *
 * Other client addresses are other loopback addresses (127.0.0.2, 127.0.0.3), the shell listening
 * on 127.0.0.1: nothing leaves loopback. A fake clock lets the locks expire without waiting.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, errorLines, FakeClock, installFakeToolkit } from '../helpers/hostile';
import { startTestShell, USERS, type TestShell } from '../helpers/test-shell';

/** Cookies kept, sent from a chosen local address (http.request's localAddress; fetch has none). */
class AddressClient {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly baseUrl: string, private readonly from: string) {}

  request(method: string, urlPath: string, form?: Record<string, string>): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
    const u = new URL(urlPath, this.baseUrl);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers: Record<string, string> = { accept: 'text/html' };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, localAddress: this.from, timeout: 15_000 }, (res) => {
        for (const c of res.headers['set-cookie'] ?? []) {
          const [pair] = c.split(';');
          const i = pair.indexOf('=');
          this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.end(body);
    });
  }

  async login(login: string, password: string): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
    const page = await this.request('GET', '/login');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    return this.request('POST', '/login', { login, password, next: '/', _csrf: token });
  }
}

describe('login throttling, persisted', () => {
  const clock = new FakeClock();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-login-'));
  let shell: TestShell;
  const start = () => startTestShell({}, { dataDir, clock });
  beforeAll(async () => {
    shell = await start();
  });
  afterAll(async () => {
    await shell.stopAndClean();
  });

  it('locks a login after 5 wrong passwords: even the right one is refused (429) until the lock ends, also after a restart', async () => {
    const pc = new AddressClient(shell.url, '127.0.0.2');
    for (let i = 0; i < 5; i++) expect((await pc.login('tech1', 'wrong')).status).toBe(401);
    const locked = await pc.login('tech1', USERS.tech1.password);
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBe('30');
    expect(locked.text).toContain('Trop de tentatives : réessayez dans 30 s.');
    // From another address too: the lock is the login's.
    expect((await new AddressClient(shell.url, '127.0.0.3').login('tech1', USERS.tech1.password)).status).toBe(429);
    expect(shell.logLines.filter((l) => l.includes('"msg":"login failed"') && l.includes('"login":"tech1"'))).toHaveLength(5);
    expect(shell.logLines.some((l) => l.includes('"msg":"login refused: locked"') && l.includes('"lockedBy":"login"') && l.includes('"ip":"127.0.0.2"'))).toBe(true);
    expect(shell.db.prepare("SELECT failures FROM shell_login_failures WHERE kind = 'login' AND key = 'tech1'").get()).toEqual({ failures: 5 });

    await shell.stop();
    shell = await start();
    expect((await new AddressClient(shell.url, '127.0.0.3').login('tech1', USERS.tech1.password)).status).toBe(429);
    clock.advanceMinutes(1);
    expect((await new AddressClient(shell.url, '127.0.0.3').login('tech1', USERS.tech1.password)).status).toBe(303);
    expect(shell.db.prepare("SELECT COUNT(*) AS n FROM shell_login_failures WHERE kind = 'login' AND key = 'tech1'").get()).toEqual({ n: 0 });
  });

  it('locks an address after 20 failures over any logins; another address still logs in', async () => {
    clock.advanceMinutes(30); // the previous test's failures are forgotten
    const guesser = new AddressClient(shell.url, '127.0.0.4');
    for (let i = 0; i < 20; i++) expect((await guesser.login(`user${i}`, 'guess')).status).toBe(401);
    const r = await guesser.login('admin', USERS.admin.password);
    expect(r.status).toBe(429);
    expect(shell.logLines.some((l) => l.includes('"msg":"login refused: locked"') && l.includes('"lockedBy":"address"') && l.includes('"ip":"127.0.0.4"'))).toBe(true);
    expect((await new AddressClient(shell.url, '127.0.0.5').login('admin', USERS.admin.password)).status).toBe(303);
    // A valid login from the guessing address does not clear its count once the lock ends.
    clock.advanceMinutes(1);
    const again = () => new AddressClient(shell.url, '127.0.0.4'); // a fresh browser on that PC
    expect((await again().login('admin', USERS.admin.password)).status).toBe(303);
    expect((await again().login('nobody', 'x')).status).toBe(401);
    expect((await again().login('admin', USERS.admin.password)).status).toBe(429);
  });
});

describe('login form token, type confusion, flash messages', () => {
  let shell: TestShell;
  let admin: Client;
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'], beforeStart: installFakeToolkit });
    admin = await Client.as(shell.url, 'admin');
  });
  afterAll(() => shell.stopAndClean());
  let mark = 0;
  beforeEach(() => {
    mark = shell.logLines.length;
  });
  afterEach(() => {
    expect(errorLines(shell.logLines, mark)).toEqual([]);
  });

  it('POST /login without the form token, with a wrong one or with another browser\'s is 403 and checks no password', async () => {
    const sessions = () => shell.db.prepare('SELECT COUNT(*) AS n FROM shell_sessions').get();
    const before = sessions();
    const form = { login: 'admin', password: USERS.admin.password, next: '/' };
    const c = new Client(shell.url);
    expect((await c.send('POST', '/login', { form, csrf: false })).status).toBe(403);
    await c.loginToken();
    expect((await c.send('POST', '/login', { form: { ...form, _csrf: 'x'.repeat(43) }, csrf: false })).status).toBe(403);
    const other = await new Client(shell.url).loginToken();
    expect((await c.send('POST', '/login', { form: { ...form, _csrf: other }, csrf: false })).status).toBe(403);
    expect(sessions()).toEqual(before);
    expect(shell.logLines.slice(mark).filter((l) => l.includes('"msg":"login"'))).toEqual([]);
    expect((await c.send('POST', '/login', { form: { ...form, _csrf: await c.loginToken() }, csrf: false })).status).toBe(303);
  });

  /** Every POST/PUT route in src/ (found by reading the source), with a URL that reaches it. */
  const ROUTES: Record<string, string> = {
    '/login': '/login',
    '/logout': '/logout',
    '/locale': '/locale',
    '/admin/modules/:id/:op': '/admin/modules/clonage/disable',
    '/dhcp/reservations': '/dhcp/reservations',
    '/dhcp/reservations/:mac/delete': '/dhcp/reservations/52:54:00:12:00:0b/delete',
    '/config': '/modules/clonage/config',
    '/config/toolkits/build': '/modules/clonage/config/toolkits/build',
    '/config/toolkits/download': '/modules/clonage/config/toolkits/download',
    '/config/toolkits/:name/remove': '/modules/clonage/config/toolkits/clonage/remove',
    '/actions': '/modules/clonage/actions',
    '/actions/:id/cancel': '/modules/clonage/actions/a_xxxxxxxxxxxxxxxxxxxxxx/cancel',
    '/actions/:id/start-now': '/modules/clonage/actions/a_xxxxxxxxxxxxxxxxxxxxxx/start-now',
    '/actions/:id/retry': '/modules/clonage/actions/a_xxxxxxxxxxxxxxxxxxxxxx/retry',
    '/config/job-toolkit': '/modules/clonage/config/job-toolkit',
    '/jobs/:job/progress': '/modules/clonage/api/agent/jobs/j/progress',
    '/jobs/:job/log': '/modules/clonage/api/agent/jobs/j/log',
    '/jobs/:job/result': '/modules/clonage/api/agent/jobs/j/result',
    '/jobs/:job/report': '/modules/clonage/api/agent/jobs/j/report',
    // the image routes are a sub-router mounted at /jobs/:job/image
    '/commit': '/modules/clonage/api/agent/jobs/j/image/commit',
    '/:file': '/modules/clonage/api/agent/jobs/j/image/part.img',
    '/config/accounts/:account/test': '/modules/clonage/config/accounts/netlogon/test',
    '/images/:id/delete': '/modules/clonage/images/1/delete',
    '/images/:id/rename': '/modules/clonage/images/1/rename',
    '/images/:id/protect': '/modules/clonage/images/1/protect',
    '/schedules/:id/pause': '/modules/clonage/schedules/1/pause',
    '/schedules/:id/resume': '/modules/clonage/schedules/1/resume',
    '/schedules/:id/delete': '/modules/clonage/schedules/1/delete',
    '/tokens': '/modules/clonage/tokens',
    '/tokens/:id/revoke': '/modules/clonage/tokens/0123456789abcdef/revoke',
    '/ack': '/modules/clonage/api/emitter/ack',
    '/done': '/modules/clonage/api/postclone/done',
  };

  it('the table holds every POST/PUT route of the source', () => {
    const found = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/\b(?:r|app|router)\.(?:post|put)\('([^']+)'/g)) found.add(m[1]);
      }
    };
    walk(path.resolve(__dirname, '../../src'));
    expect([...found].sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it.each(Object.entries(ROUTES))('%s: a JSON field that is an object, a number, a boolean or null is 400, for anyone', async (_route, url) => {
    const before = shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get();
    for (const value of [{ toString: 1 }, 12, null, [{ a: 1 }]]) {
      for (const field of ['login', '_csrf', 'type', 'mac']) {
        const body = JSON.stringify({ login: 'admin', password: USERS.admin.password, _csrf: admin.csrfToken, [field]: value });
        for (const c of [admin, new Client(shell.url)]) {
          const r = await c.send('POST', url, { body, headers: { 'content-type': 'application/json', accept: 'application/json' } });
          expect([url, field, r.status]).toEqual([url, field, 400]);
          expect(r.text).not.toMatch(/at \w+ \(|TypeError/);
        }
      }
    }
    expect(shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual(before);
  });

  it('a flash message is an id kept server-side: text in ?flash= is never shown, nor another session\'s id, nor twice', async () => {
    const spoof = 'Votre session a expiré : saisissez votre mot de passe sur evil.example';
    expect((await admin.send('GET', `/?flash=${encodeURIComponent(spoof)}`)).text).not.toContain('evil.example');
    const r = await admin.send('POST', '/dhcp/reservations', { form: { name: 'flashpc', ip: '10.77.0.61', mac: '52:54:00:aa:bb:61' } });
    expect(r.status).toBe(303);
    const id = /[?&]flash=([^&]+)$/.exec(r.location ?? '')?.[1] ?? '';
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const other = await Client.as(shell.url, 'admin');
    expect((await other.send('GET', `/dhcp?flash=${id}`)).text).not.toContain('class="flash"');
    expect((await admin.send('GET', `/dhcp?flash=${id}`)).text).toMatch(/class="flash" role="status">[^<]*flashpc/);
    expect((await admin.send('GET', `/dhcp?flash=${id}`)).text).not.toContain('class="flash"');
  });
});

describe('a PC listener apart from the admin one (listen.pc)', () => {
  let shell: TestShell;
  beforeAll(async () => {
    // Admin pages on 127.0.0.1, the PCs' network played by 127.0.0.2.
    shell = await startTestShell({ listen: { host: '127.0.0.1', port: 0, pc: { host: '127.0.0.2', port: 0 } } }, { autoEnable: ['clonage'], beforeStart: installFakeToolkit });
  });
  afterAll(() => shell.stopAndClean());

  it('serves PCs their boot script and agent API, and no page, no login, no static file', async () => {
    const pcUrl = shell.pcUrl ?? '';
    expect(pcUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    const pc = new Client(pcUrl);
    expect((await pc.send('GET', '/modules/clonage/boot/ipxe?mac=52:54:00:12:00:0b')).text).toMatch(/^#!ipxe/);
    expect((await pc.send('POST', '/modules/clonage/api/agent/jobs/j_x/progress', { form: { percent: '1' } })).status).toBe(401);
    for (const p of ['/login', '/', '/admin/modules', '/dhcp', '/static/shell.css', '/modules/clonage/actions', '/modules/clonage/config', '/modules/clonage/reports',
      // the REST API is for admins: not on the PCs' network either
      '/modules/clonage/api/v1/openapi.json', '/modules/clonage/api/v1/parcs']) {
      expect([p, (await pc.send('GET', p)).status]).toEqual([p, 404]);
    }
    expect((await pc.send('POST', '/login', { form: { login: 'admin', password: USERS.admin.password } })).status).toBe(404);
    // The admin listener still serves everything.
    expect((await Client.as(shell.url, 'admin').then((c) => c.send('GET', '/modules/clonage/actions'))).status).toBe(200);
  });
});
