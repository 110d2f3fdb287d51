/**
 * The agent endpoints of docs/agent-protocol.md, under {module}/api/agent/. No login: the job
 * fetch carries the job's one-time boot token as `Authorization: Bearer` and answers the job's
 * session secret in `X-Clonage-Session`; every later call sends that header back, from the same
 * address. Answers are text/plain (the agent is a busybox shell script and parses no JSON),
 * bodies are small and parsed only here. Refusals map to 401 (no/malformed secret), 403 (wrong
 * secret or address), 404 (unknown job), 409 (not in the state the call needs), 410 (job finished
 * or cancelled): the agent then touches no disk; 413 past the per-job caps.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../../host/contract';
import { httpStatusOf } from '../../common/domain/errors';
import { type FetchedJob, GoneError, JobVolumeError, MAX_AGENT_TEXT_BYTES } from '../../agent/agent-jobs';
import { type AgentCaller, peerAddress, SESSION_HEADER } from '../../agent/agent-caller';

/** What the routes need from ActionService. */
export interface AgentApi {
  fetchJob(jobId: string, caller: AgentCaller): FetchedJob;
  progress(jobId: string, caller: AgentCaller, fields: Readonly<Record<string, unknown>>): void;
  log(jobId: string, caller: AgentCaller, text: unknown): void;
  result(jobId: string, caller: AgentCaller, fields: Readonly<Record<string, unknown>>): string;
  report(jobId: string, caller: AgentCaller, text: unknown): void;
}

export const AGENT_BASE_PATH = '/api/agent';
const FORM_LIMIT = '8kb';

/** The token of `Authorization: Bearer <token>`, or undefined (→ 401). */
export function bearerToken(req: Request): string | undefined {
  const h = req.get('authorization');
  const m = h ? /^Bearer ([^\s]{1,200})$/i.exec(h.trim()) : null;
  return m ? m[1] : undefined;
}

/** The secrets and the address of an agent call; the single place routes read them from. */
export function agentCaller(req: Request): AgentCaller {
  const session = req.get(SESSION_HEADER);
  return {
    token: bearerToken(req),
    session: session !== undefined && session.length <= 200 ? session.trim() : undefined,
    // The socket's peer, never a forwarded header: a PC could write any header it likes.
    address: peerAddress(req.socket.remoteAddress),
  };
}

function formFields(req: Request): Record<string, unknown> {
  return req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? (req.body as Record<string, unknown>) : {};
}

/** Builds the agent router; mount it with registerAgentRoutes (or elsewhere in tests). */
export function agentRouter(api: AgentApi, logger: Logger): Router {
  const r = express.Router();
  const text = express.text({ type: 'text/*', limit: MAX_AGENT_TEXT_BYTES, defaultCharset: 'utf-8' });
  const form = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 20 });

  r.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  r.get('/jobs/:job', (req, res) => {
    const job = api.fetchJob(String(req.params.job), agentCaller(req));
    res.status(200).type('text/plain').set(SESSION_HEADER, job.session).send(job.description);
  });

  r.post('/jobs/:job/progress', form, (req, res) => {
    api.progress(String(req.params.job), agentCaller(req), formFields(req));
    res.status(204).end();
  });

  r.post('/jobs/:job/log', text, (req, res) => {
    api.log(String(req.params.job), agentCaller(req), req.body);
    res.status(204).end();
  });

  r.post('/jobs/:job/result', form, (req, res) => {
    res.status(200).type('text/plain').send(api.result(String(req.params.job), agentCaller(req), formFields(req)));
  });

  r.post('/jobs/:job/report', text, (req, res) => {
    api.report(String(req.params.job), agentCaller(req), req.body);
    res.status(204).end();
  });

  r.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('error=no such agent endpoint\n');
  });
  r.use(agentErrorHandler(logger));
  return r;
}

export function agentStatusOf(err: unknown): number {
  const type = (err as { type?: string })?.type;
  if (type === 'entity.too.large') return 413;
  if (type === 'entity.parse.failed' || type === 'charset.unsupported' || type === 'parameters.too.many') return 400;
  if (err instanceof GoneError) return 410;
  if (err instanceof JobVolumeError) return 413;
  return httpStatusOf(err);
}

/** Plain-text errors (`error=…`), logged; refused tokens are logged as warnings (probing). */
export function agentErrorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const status = agentStatusOf(err);
    const message = status === 500 ? 'internal error' : String((err as Error)?.message ?? err);
    const fields = { status, path: req.path.slice(0, 120), ip: req.ip, error: message };
    if (status === 500) logger.error('agent call failed', { ...fields, stack: String((err as Error)?.stack ?? '') });
    else if (status === 401 || status === 403) logger.warn('agent call refused', fields);
    else logger.info('agent call refused', fields);
    if (res.headersSent) return;
    res.status(status).type('text/plain').send(`error=${message.replace(/[^A-Za-z0-9 ._:/,()-]/g, '_').slice(0, 200)}\n`);
  };
}

/** Mounts the agent endpoints on the module router (host.web.router). */
export function registerAgentRoutes(router: Router, api: AgentApi, logger: Logger): void {
  router.use(AGENT_BASE_PATH, agentRouter(api, logger));
}
