/**
 * A stand-in for the module's agent endpoints (docs/agent-protocol.md), for the agent tests, until
 * the real module API exists. It is faithful to the doc: the boot token (Bearer) fetches the job
 * once and the answer's `X-Clonage-Session` secret is required on every later call; 401/403/404
 * refusals, GET consumes the job (a second GET is 409), cancelled jobs answer 410, progress/log/
 * result/report only for a running job, result answers `reboot=…`.
 *
 * The agents run inside network namespaces and Node cannot listen inside one, so the server
 * listens on a Unix socket (paths cross network namespaces) and a small relay process started in
 * the bridge namespace forwards TCP connections to it. Calls are recorded for the assertions.
 */
import * as http from 'http';
import * as fs from 'fs';
import { randomBytes, timingSafeEqual } from 'crypto';
import { ChildProcess } from 'child_process';
import { relayTcpToUnix, TestNet } from './netns';

export type JobState = 'ready' | 'running' | 'finished' | 'cancelled';

export interface TestJob {
  id: string;
  token: string;
  /** Body served by GET, `key=value` lines (served as is, so tests can send malformed jobs). */
  body: string;
  state: JobState;
  /** The session secret the GET answered (set when fetched). */
  session?: string;
  /** Whether the GET answers a session secret (false: an old server, the agent must refuse it). */
  giveSession?: boolean;
  /** What the result call answers: reboot=always|never|halt. */
  rebootAnswer: 'always' | 'never' | 'halt';
}

export interface RecordedCall {
  job: string;
  kind: 'get' | 'progress' | 'log' | 'result' | 'report' | 'unknown';
  method: string;
  status: number;
  contentType: string;
  body: string;
  form: Record<string, string>;
  at: number;
}

const LOG_LIMIT = 64 * 1024;
const ROUTE = /^\/api\/agent\/jobs\/([A-Za-z0-9_-]{1,64})(?:\/(progress|log|result|report))?$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  return out;
}

/** Checks a progress/result form the way the server would (400 when it does not fit). */
function formProblem(kind: string, form: Record<string, string>): string | null {
  const int = (v: string | undefined) => v !== undefined && /^\d{1,15}$/.test(v);
  if (kind === 'progress') {
    if (!form.stage || !/^[a-z_]{1,32}$/.test(form.stage)) return 'stage';
    if (!int(form.percent) || Number(form.percent) > 100) return 'percent';
    if (!int(form.bytes)) return 'bytes';
    if (!int(form.rate_kbps)) return 'rate_kbps';
  }
  if (kind === 'result') {
    if (form.status !== 'succeeded' && form.status !== 'failed') return 'status';
    if (!/^-?\d{1,5}$/.test(form.exit_code ?? '')) return 'exit_code';
  }
  return null;
}

export class AgentTestServer {
  readonly jobs = new Map<string, TestJob>();
  readonly calls: RecordedCall[] = [];
  private relay?: ChildProcess;

  private constructor(private readonly server: http.Server, readonly socketPath: string) {}

  /** Listens on `socketPath`; call `exposeIn` to make it reachable from the namespaces. */
  static async start(socketPath: string): Promise<AgentTestServer> {
    fs.rmSync(socketPath, { force: true });
    let self: AgentTestServer | undefined;
    const server = http.createServer((req, res) => self!.handle(req, res));
    self = new AgentTestServer(server, socketPath);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    return self;
  }

  /** Starts the TCP→Unix relay on ip:port inside `ns`; resolves to the module base URL. */
  async exposeIn(net: TestNet, ns: string, ip: string, port: number): Promise<string> {
    this.relay = await relayTcpToUnix(net, ns, ip, port, this.socketPath);
    return `http://${ip}:${port}/modules/clonage`;
  }

  addJob(id: string, token: string, fields: Record<string, string | number> | string, rebootAnswer: TestJob['rebootAnswer'] = 'always'): TestJob {
    const body = typeof fields === 'string' ? fields : Object.entries(fields).map(([k, v]) => `${k}=${v}\n`).join('');
    const job: TestJob = { id, token, body, state: 'ready', rebootAnswer };
    this.jobs.set(id, job);
    return job;
  }

  callsOf(job: string, kind?: RecordedCall['kind']): RecordedCall[] {
    return this.calls.filter((c) => c.job === job && (kind === undefined || c.kind === kind));
  }

  async stop(): Promise<void> {
    if (this.relay?.pid !== undefined && this.relay.exitCode === null) {
      try {
        process.kill(-this.relay.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= LOG_LIMIT + 1024) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0].replace(/^\/modules\/clonage/, '');
      const m = ROUTE.exec(path);
      const kind = (m ? (m[2] ?? 'get') : 'unknown') as RecordedCall['kind'];
      const contentType = String(req.headers['content-type'] ?? '');
      const form = contentType.startsWith('application/x-www-form-urlencoded') ? parseForm(body) : {};
      const answer = (status: number, text = '') => {
        this.calls.push({ job: m?.[1] ?? '', kind, method: req.method ?? '', status, contentType, body, form, at: Date.now() });
        res.writeHead(status, text ? { 'Content-Type': 'text/plain; charset=utf-8' } : {});
        res.end(text);
      };
      if (!m) return answer(404, 'not found\n');
      const job = this.jobs.get(m[1]);
      const auth = /^Bearer ([A-Za-z0-9_-]+)$/.exec(String(req.headers.authorization ?? ''));
      const session = String(req.headers['x-clonage-session'] ?? '');
      if (!auth && !session) return answer(401, 'missing token\n');
      if (!job) return answer(404, 'no such job\n');
      if (kind === 'get') {
        if (!auth || !sameSecret(auth[1], job.token)) return answer(403, 'bad token\n');
        if (job.state === 'cancelled') return answer(410, 'cancelled\n');
        if (req.method !== 'GET') return answer(405);
        if (job.state !== 'ready') return answer(409, 'already consumed\n');
        job.state = 'running';
        if (job.giveSession === false) return answer(200, job.body);
        job.session = randomBytes(32).toString('base64url');
        res.setHeader('X-Clonage-Session', job.session);
        return answer(200, job.body);
      }
      if (!job.session || !sameSecret(session, job.session)) return answer(session ? 403 : 401, 'session secret required\n');
      if (job.state === 'cancelled') return answer(410, 'cancelled\n');
      if (req.method !== 'POST') return answer(405);
      if (job.state !== 'running') return answer(409, 'job not running\n');
      if (size > LOG_LIMIT && (kind === 'log' || kind === 'report')) return answer(413);
      const problem = formProblem(kind, form);
      if (problem) return answer(400, `bad ${problem}\n`);
      if (kind === 'result') {
        job.state = 'finished';
        return answer(200, `reboot=${job.rebootAnswer}\n`);
      }
      return answer(204);
    });
  }
}
