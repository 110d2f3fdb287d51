/**
 * The agent endpoints of docs/agent-protocol.md, under {module}/api/agent/. No login: the job
 * fetch carries the job's one-time boot token as `Authorization: Bearer` and answers the job's
 * session secret in `X-Clonage-Session`; every later call sends that header back, from the same
 * address. Answers are text/plain (the agent is a busybox shell script and parses no JSON),
 * bodies are small and parsed only here. Refusals map to 401 (no/malformed secret), 403 (wrong
 * secret or address), 404 (unknown job), 409 (not in the state the call needs), 410 (job finished
 * or cancelled): the agent then touches no disk; 413 past the per-job caps (pc-router.ts).
 * The image store's calls are a sub-router under /jobs/:job/image (image-routes.ts).
 */
import express, { type Request, type Router } from 'express';
import type { Logger } from '../../host/contract';
import type { AgentJobs } from '../../agent/agent-jobs';
import { MAX_AGENT_TEXT_BYTES } from '../../agent/agent-jobs';
import { SESSION_HEADER } from '../../agent/agent-caller';
import { agentCaller, MAX_PC_FORM_FIELDS, pcRouter } from './pc-router';
import { imageStatusOf } from './image-routes';

/** What the routes call: AgentJobs (src/agent/agent-jobs.ts). */
export type AgentApi = Pick<AgentJobs, 'fetchJob' | 'progress' | 'log' | 'result' | 'report'>;

export const AGENT_BASE_PATH = '/api/agent';
const FORM_LIMIT = '8kb';

function formFields(req: Request): Record<string, unknown> {
  return req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? (req.body as Record<string, unknown>) : {};
}

export interface AgentRouterOptions {
  /** The image store's sub-router (image-routes.ts), under /jobs/:job/image. */
  readonly images?: Router;
  /** Runs once a job's result is answered (the image store sweeps the staging of jobs that ended). */
  readonly afterResult?: () => void;
}

/** The agent router, mounted at AGENT_BASE_PATH. */
export function agentRouter(api: AgentApi, logger: Logger, opts: AgentRouterOptions = {}): Router {
  const text = express.text({ type: 'text/*', limit: MAX_AGENT_TEXT_BYTES, defaultCharset: 'utf-8' });
  const form = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: MAX_PC_FORM_FIELDS });
  return pcRouter('agent', logger, (r) => {
    if (opts.images) r.use('/jobs/:job/image', opts.images);

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
      // A job's result ends it: once answered, what depends on running jobs may clean up.
      if (opts.afterResult) res.once('finish', opts.afterResult);
      res.status(200).type('text/plain').send(api.result(String(req.params.job), agentCaller(req), formFields(req)));
    });

    r.post('/jobs/:job/report', text, (req, res) => {
      api.report(String(req.params.job), agentCaller(req), req.body);
      res.status(204).end();
    });
  }, { statusOf: imageStatusOf });
}
