/**
 * Bounded fuzzing of the agent endpoints at the HTTP level: the agent router behind the same body
 * parsers as the shell (src/shell/shell-app.ts), on 127.0.0.1, with random methods, paths, tokens,
 * content types, encodings and bodies. Never a 500, errors are `error=` text lines, and a refused
 * request changes nothing in the database.
 */
import type { Server } from 'node:http';
import express from 'express';
import fc from 'fast-check';
import { agentRouter } from '../../src/http/pc/agent-routes';
import { httpStatusOf } from '../../src/common/domain/errors';
import { admin, armedJob, cloneInput, dbSnapshot, rig, type Rig } from '../helpers/actions-fixtures';
import { withoutIdleClose } from '../helpers/fake-host';

const ALLOWED = [200, 204, 400, 401, 403, 404, 409, 410, 413, 415];

describe('fuzz: agent endpoints over HTTP', () => {
  let r: Rig;
  let server: Server;
  let base: string;
  let running: { jobId: string; token: string };
  let armed: { jobId: string; token: string };

  beforeAll(async () => {
    r = rig();
    await r.service.create(admin, cloneInput());
    await r.scheduler.tick(r.host.clock.now());
    running = armedJob(r.bootPlans, 'pc02');
    armed = armedJob(r.bootPlans, 'pc03');
    r.agents.fetchJob(running.jobId, running.token);
    const app = express();
    app.use(express.urlencoded({ extended: false, limit: '256kb' }));
    app.use(express.json({ limit: '256kb' }));
    app.use('/api/agent', agentRouter(r.agent, r.host.logger));
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(httpStatusOf(err)).type('text/plain').send('error=from the shell\n');
    });
    server = await new Promise<Server>((ok) => {
      const s = withoutIdleClose(app.listen(0, '127.0.0.1', () => ok(s)));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/agent`;
  });
  afterAll(async () => {
    await new Promise((ok) => server.close(ok));
    r.host.cleanup();
  });

  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
    job: fc.oneof(fc.constant('RUNNING'), fc.constant('ARMED'), fc.stringMatching(/^[A-Za-z0-9_%.-]{1,70}$/)),
    tail: fc.constantFrom('', '/progress', '/log', '/result', '/report', '/other', '/%2e%2e', '/progress/x'),
    auth: fc.oneof(fc.constant('RUNNING'), fc.constant('ARMED'), fc.constant(null), fc.stringMatching(/^[\x21-\x7e]{0,80}$/).map((s) => `Bearer ${s}`), fc.stringMatching(/^[\x20-\x7e]{0,60}$/)),
    type: fc.constantFrom(undefined, 'text/plain', 'text/plain; charset=latin1', 'text/plain; charset=utf-16', 'text/html', 'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=koi8-r', 'application/json', 'application/octet-stream', 'multipart/form-data; boundary=x', '*/*', 'text/plain; charset=evil'),
    encoding: fc.constantFrom(undefined, 'identity', 'gzip', 'deflate', 'br', 'x-evil', 'gzip, gzip'),
    body: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.dictionary(fc.constantFrom('stage', 'percent', 'bytes', 'rate_kbps', 'status', 'exit_code', 'message', 'x'), fc.string({ maxLength: 30 }), { maxKeys: 5 })
        .map((d) => new URLSearchParams(d).toString()),
      fc.constantFrom('{"percent":{"$gt":1}}', '{"status":["succeeded"]}', 'status=succeeded&status=failed', `${'k=v&'.repeat(1200)}`, 'x'.repeat(70 * 1024)),
    ),
  });

  const withoutRefusalNotices = (snap: unknown) => {
    const s = snap as { events: { message_key: string | null }[] };
    return { ...s, events: s.events.filter((e) => !String(e.message_key).startsWith('event.agent.')) };
  };

  it('never answers 500, always a text error line, and a refusal changes nothing', async () => {
    await fc.assert(fc.asyncProperty(request, async (q) => {
      const job = q.job === 'RUNNING' ? running.jobId : q.job === 'ARMED' ? armed.jobId : q.job;
      const auth = q.auth === 'RUNNING' ? `Bearer ${running.token}` : q.auth === 'ARMED' ? `Bearer ${armed.token}` : q.auth;
      // a valid token on a valid job with a valid body may legitimately change things (or finish the job): not this property's business
      fc.pre(!(q.auth === 'ARMED' && job === armed.jobId && q.method === 'GET' && q.tail === ''));
      fc.pre(!(q.auth === 'RUNNING' && job === running.jobId && q.tail === '/result'));
      const headers: Record<string, string> = {};
      if (auth !== null) headers.authorization = auth;
      if (q.type) headers['content-type'] = q.type;
      if (q.encoding) headers['content-encoding'] = q.encoding;
      const before = dbSnapshot(r.host);
      const res = await fetch(`${base}/jobs/${job}${q.tail}`, {
        method: q.method, headers, body: q.method === 'GET' ? undefined : q.body, signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      expect({ status: res.status, allowed: ALLOWED.includes(res.status) }).toEqual({ status: res.status, allowed: true });
      if (res.status >= 400) {
        expect(text).toMatch(/^error=[^\n]*\n$/);
        // A refusal changes nothing but, when it shows a boot file in the wrong hands (the boot
        // token on a later call, a second fetch), its warning event (agent-sessions.test.ts).
        expect(withoutRefusalNotices(dbSnapshot(r.host))).toEqual(withoutRefusalNotices(before));
      }
    }), { numRuns: 300, interruptAfterTimeLimit: 9000 });
    expect(r.host.logger.lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  });
});
