/**
 * runCli against a stub of the API contract on loopback (the integration test runs the compiled
 * binary against the real shell): configuration and the token file's mode, the headers sent,
 * server errors → stderr line + exit code, --json, the disk-overwrite confirmation, and `watch`
 * over SSE (progress, reconnect after a dropped stream, outcome exit codes).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveConfig, tokenFilePath, DEFAULT_URL } from '../../src/cli/config';
import { CliError, EXIT } from '../../src/cli/exit-codes';
import { runCli, type CliIo } from '../../src/cli/run';
import { freePort } from '../helpers/free-port';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

let server: http.Server;
let base = '';
let handler: Handler = (_q, _b, res) => res.end();
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/modules/clonage/api/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen.length = 0;
});

const json = (res: http.ServerResponse, status: number, data: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));

async function run(argv: string[], o: { env?: Record<string, string>; tty?: number; confirm?: boolean | null; files?: Record<string, { mode: number; text: string }> } = {}) {
  let stdout = '';
  let stderr = '';
  const files = o.files ?? {};
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: o.env ?? { CLONAGE_URL: base, CLONAGE_TOKEN: 'clo_test' },
    fs: { stat: (f) => (files[f] ? { mode: files[f].mode } : null), read: (f) => files[f].text },
    fetch,
    ttyColumns: o.tty ?? null,
    confirm: o.confirm === undefined || o.confirm === null ? null : async () => o.confirm as boolean,
    sleep: async () => undefined,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('clonage configuration', () => {
  const noFs = { stat: () => null, read: () => '' };
  test('flags beat the environment, which beats the token file; the default URL is the shell\'s', () => {
    expect(resolveConfig({ flags: {}, env: {}, fs: noFs })).toEqual({ url: DEFAULT_URL, token: null, lang: null });
    expect(resolveConfig({ flags: { token: 'a', url: 'https://srv/x/' }, env: { CLONAGE_TOKEN: 'b', CLONAGE_URL: 'http://e' }, fs: noFs }))
      .toEqual({ url: 'https://srv/x', token: 'a', lang: null });
    const file = tokenFilePath({ HOME: '/home/u' })!;
    expect(file).toBe('/home/u/.config/clonage/token');
    expect(tokenFilePath({ HOME: '/home/u', XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/clonage/token');
    const fs = { stat: (f: string) => (f === file ? { mode: 0o100600 } : null), read: () => 'clo_file\n' };
    expect(resolveConfig({ flags: {}, env: { HOME: '/home/u' }, fs }).token).toBe('clo_file');
    expect(resolveConfig({ flags: {}, env: { HOME: '/home/u', CLONAGE_TOKEN: 'clo_env' }, fs }).token).toBe('clo_env');
  });

  test.each([
    [{ url: 'ftp://x' }, EXIT.usage, /only http/],
    [{ url: 'http://u:p@x' }, EXIT.usage, /not in the URL/],
    [{ url: 'nope' }, EXIT.usage, /not a URL/],
    [{ lang: 'de' }, EXIT.usage, /en or fr/],
    [{ token: 'two words' }, EXIT.usage, /one word/],
  ])('%j is refused', (flags, code, message) => {
    expect(() => resolveConfig({ flags, env: {}, fs: noFs })).toThrow(expect.objectContaining({ exitCode: code, message: expect.stringMatching(message) }));
  });

  test('a token file readable by the group or others is refused (exit 3), like ssh refuses a key', () => {
    for (const mode of [0o100640, 0o100604, 0o100666]) {
      const fs = { stat: () => ({ mode }), read: () => 'clo_x' };
      let err: unknown;
      try {
        resolveConfig({ flags: {}, env: { HOME: '/h' }, fs });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT.auth);
      expect((err as CliError).message).toMatch(/chmod 600 \/h\/.config\/clonage\/token/);
    }
  });
});

describe('clonage against a stub API', () => {
  test('sends the Bearer token, Accept-Language and JSON; prints a table, or the JSON with --json', async () => {
    handler = (_q, _b, res) => json(res, 200, [{ name: 'salle101', machineCount: 12 }]);
    const r = await run(['parcs', 'ls', '--lang', 'en']);
    expect(r).toEqual({ code: 0, stdout: 'PARC      PCS\nsalle101   12\n', stderr: '' });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/modules/clonage/api/v1/parcs' });
    expect(seen[0].headers).toMatchObject({ authorization: 'Bearer clo_test', 'accept-language': 'en', accept: 'application/json' });
    const j = await run(['parcs', 'ls', '--json']);
    expect(JSON.parse(j.stdout)).toEqual([{ name: 'salle101', machineCount: 12 }]);
    handler = (_q, _b, res) => json(res, 201, { action: { id: 'a1', type: 'report', state: 'scheduled', targets: [] } });
    const c = await run(['actions', 'create', '--type', 'report', '--parc', 'salle101', '--machines', 'pc01']);
    expect(c.code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/modules/clonage/api/v1/actions' });
    expect(seen.at(-1)!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ type: 'report', parc: 'salle101', machines: ['pc01'] });
  });

  test.each([
    [400, EXIT.rejected, { error: { code: 'invalid_field', field: 'parc', message: 'Parc inconnu : nosuch.' } }, 'clonage: Parc inconnu : nosuch. (field: parc)\n'],
    [401, EXIT.auth, { error: { code: 'unauthorized', message: 'Jeton absent ou invalide.' } }, 'clonage: Jeton absent ou invalide.\n'],
    [403, EXIT.auth, { error: { code: 'forbidden', message: 'Interdit.' } }, 'clonage: Interdit.\n'],
    [404, EXIT.notFound, { error: { code: 'not_found', message: 'Action introuvable.' } }, 'clonage: Action introuvable.\n'],
    [409, EXIT.rejected, { error: { code: 'conflict', message: 'Déjà terminée.' } }, 'clonage: Déjà terminée.\n'],
    [500, EXIT.server, { error: { code: 'internal', message: 'Erreur interne.' } }, 'clonage: Erreur interne.\n'],
    [502, EXIT.server, '<html>bad gateway</html>', 'clonage: HTTP 502\n'],
    [404, EXIT.notFound, 'Not found', 'clonage: HTTP 404: not found (is --url the API base?)\n'],
  ])('HTTP %i → exit %i, its message on stderr', async (status, code, data, stderr) => {
    handler = (_q, _b, res) => (typeof data === 'string' ? res.writeHead(status).end(data) : json(res, status, data));
    expect(await run(['actions', 'show', 'a1'])).toEqual({ code, stdout: '', stderr });
  });

  test('no token, an answer that is not JSON, an unreachable server', async () => {
    expect(await run(['parcs', 'ls'], { env: { CLONAGE_URL: base } })).toMatchObject({ code: EXIT.auth, stderr: expect.stringMatching(/no API token/) });
    expect(seen).toHaveLength(0);
    handler = (_q, _b, res) => res.writeHead(200).end('<html>');
    expect(await run(['parcs', 'ls'])).toMatchObject({ code: EXIT.server, stderr: expect.stringMatching(/not JSON/) });
    expect(await run(['parcs', 'ls', '--url', `http://127.0.0.1:${await freePort()}/x`])).toMatchObject({ code: EXIT.server, stderr: expect.stringMatching(/cannot reach .*ECONNREFUSED/) });
  });

  test('clone/restore/deploy ask first: no terminal and no --yes is a usage error, "no" sends nothing', async () => {
    handler = (_q, _b, res) => json(res, 201, { action: { id: 'a2', state: 'armed' } });
    const clone = ['actions', 'create', '--type', 'clone', '--parc', 'salle101', '--emitter', 'pc01'];
    expect(await run(clone)).toMatchObject({ code: EXIT.usage, stderr: expect.stringMatching(/pass --yes/) });
    expect(await run(clone, { confirm: false })).toMatchObject({ code: EXIT.usage, stderr: 'clonage: cancelled: nothing was sent\n' });
    expect(seen).toHaveLength(0);
    expect((await run(clone, { confirm: true })).code).toBe(0);
    expect((await run([...clone, '--yes'])).code).toBe(0);
    expect(seen).toHaveLength(2);
  });
});

describe('clonage actions watch against a stub stream', () => {
  const view = (state: string, pcs: [string, string, number | null][]) =>
    ({ id: 'a9', type: 'clone', state, targets: pcs.map(([name, s, percent]) => ({ name, state: s, percent, message: null })) });
  const sse = (res: http.ServerResponse, msgs: unknown[], end: boolean) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': hello\n\n');
    for (const [i, m] of msgs.entries()) res.write(`event: ${i === 0 ? 'snapshot' : 'update'}\ndata: ${JSON.stringify(m)}\n\n`);
    if (end) res.end();
  };

  test('plain lines until the action ends; a partial success exits 7', async () => {
    handler = (_q, _b, res) => sse(res, [view('running', [['pc01', 'running', 10], ['pc02', 'armed', null]]), view('failed', [['pc01', 'succeeded', 100], ['pc02', 'failed', null]])], false);
    const r = await run(['actions', 'watch', 'a9']);
    expect(r.stdout).toBe('action a9: running\npc01: running 10%\npc02: armed\naction a9: failed\npc01: succeeded 100%\npc02: failed\naction a9 ended with errors: 1/2 PCs succeeded, 1 failed\n');
    expect(r.code).toBe(EXIT.partial);
    expect(seen[0]).toMatchObject({ url: '/modules/clonage/api/v1/actions/a9/events' });
    expect(seen[0].headers.accept).toBe('text/event-stream');
  });

  test('a dropped stream is reopened; the GET in between decides; --json prints one object per message', async () => {
    let streams = 0;
    handler = (req, _b, res) => {
      if (req.url!.endsWith('/events')) {
        streams += 1;
        sse(res, streams === 1 ? [view('running', [['pc01', 'running', 50]])] : [view('running', [['pc01', 'running', 90]]), view('succeeded', [['pc01', 'succeeded', 100]])], streams === 1);
      } else json(res, 200, { action: view('running', [['pc01', 'running', 60]]) });
    };
    const r = await run(['actions', 'watch', 'a9', '--json']);
    expect(r.code).toBe(EXIT.ok);
    expect(seen.map((s) => s.url.replace('/modules/clonage/api/v1', ''))).toEqual(['/actions/a9/events', '/actions/a9', '/actions/a9/events']);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).state)).toEqual(['running', 'running', 'succeeded']);
  });

  test('on a terminal: bars redrawn in place; a cancelled action exits 8', async () => {
    handler = (_q, _b, res) => sse(res, [view('running', [['pc01', 'running', 50]]), view('cancelled', [['pc01', 'cancelled', 50]])], false);
    const r = await run(['actions', 'watch', 'a9'], { tty: 60 });
    expect(r.code).toBe(EXIT.cancelled);
    expect(r.stdout).toBe(
      '\x1b[2Kaction a9: running\n\x1b[2Kpc01 [#############-------------]  50% running\n'
      + '\x1b[2F\x1b[2Kaction a9: cancelled\n\x1b[2Kpc01 [#############-------------]  50% cancelled\n'
      + 'action a9 cancelled: 0/1 PCs succeeded\n');
  });

  test('a stream that keeps closing while the action runs gives up with exit 5', async () => {
    handler = (req, _b, res) => (req.url!.endsWith('/events') ? sse(res, [], true) : json(res, 200, { action: view('running', []) }));
    const r = await run(['actions', 'watch', 'a9']);
    expect(r).toMatchObject({ code: EXIT.server, stderr: expect.stringMatching(/keeps closing; the action is still running/) });
    expect(seen.filter((s) => s.url.endsWith('/events'))).toHaveLength(6);
  });
});
