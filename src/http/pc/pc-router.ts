/**
 * The one factory of the HTTP routes PCs call (agent, image store, emitter and post-clone
 * scripts, iPXE boot): no session, answers in text/plain that busybox and PowerShell scripts
 * parse without JSON. Every such router gets the same frame:
 *  - `Cache-Control: no-store` (job descriptions, plans and credentials change or are secret);
 *  - an optional bound on the declared body size, refused (413) before anything is buffered;
 *  - a 404 `error=…` for paths it does not know;
 *  - errors as `error=<sanitised message>` with the typed error's status (401/403/404/409/410,
 *    400/413 from the body parsers), refused tokens logged as warnings (probing).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../../host/contract';
import { httpStatusOf } from '../../common/domain/errors';
import { GoneError, JobVolumeError } from '../../agent/agent-jobs';
import { type AgentCaller, peerAddress, SESSION_HEADER } from '../../agent/agent-caller';

export interface PcRouterOptions {
  /** Requests declaring a larger body are refused with 413 before it is read. */
  readonly maxBodyBytes?: number;
  /** Statuses of a feature's own errors (the image store's 413/422/507), checked first. */
  readonly statusOf?: (err: unknown) => number | null;
  /** Express option: a sub-router sees its parent's params (`/jobs/:job/image`). */
  readonly mergeParams?: boolean;
}

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

export function pcStatusOf(err: unknown): number {
  const type = (err as { type?: string })?.type;
  if (type === 'entity.too.large') return 413;
  if (type === 'entity.parse.failed' || type === 'charset.unsupported' || type === 'parameters.too.many') return 400;
  if (err instanceof GoneError) return 410;
  if (err instanceof JobVolumeError) return 413;
  return httpStatusOf(err);
}

/** The `error=…` line: a message that cannot break the agent's `key=value` parsing. */
export function pcErrorLine(message: string): string {
  return `error=${message.replace(/[^A-Za-z0-9 ._:/,()-]/g, '_').slice(0, 200)}\n`;
}

/**
 * A router for PC calls named `name` in the logs: `mount` adds the routes, between the frame's
 * first middleware (no-store, body bound) and its last (404, error=…).
 */
/** The most fields a PC's form carries (the agent's result has the most, well under this). */
export const MAX_PC_FORM_FIELDS = 20;

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null;

export function pcRouter(name: string, logger: Logger, mount: (r: Router) => void, opts: PcRouterOptions = {}): Router {
  const r = express.Router({ mergeParams: opts.mergeParams ?? false });
  r.use((req, res, next) => {
    res.set('Cache-Control', 'no-store');
    if (opts.maxBodyBytes !== undefined && Number(req.get('content-length') ?? 0) > opts.maxBodyBytes) {
      res.status(413).type('text/plain').send(pcErrorLine('request body too large'));
      return;
    }
    // A host may parse forms before the module with its own, larger limits (the standalone shell
    // accepts the wizard's thousands of fields): a PC's form stays small whoever parsed it.
    if (isObject(req.body) && Object.keys(req.body).length > MAX_PC_FORM_FIELDS) {
      res.status(413).type('text/plain').send(pcErrorLine('too many form fields'));
      return;
    }
    next();
  });
  mount(r);
  r.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send(pcErrorLine(`no such ${name} endpoint`));
  });
  r.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = opts.statusOf?.(err) ?? pcStatusOf(err);
    const message = status === 500 ? 'internal error' : String((err as Error)?.message ?? err);
    const fields = { status, path: req.path.slice(0, 120), ip: req.ip, error: message };
    if (status === 500) logger.error(`${name} call failed`, { ...fields, stack: String((err as Error)?.stack ?? '') });
    else if (status === 401 || status === 403) logger.warn(`${name} call refused`, fields);
    else logger.info(`${name} call refused`, fields);
    if (res.headersSent) return;
    res.status(status).type('text/plain').send(pcErrorLine(message));
  });
  return r;
}
