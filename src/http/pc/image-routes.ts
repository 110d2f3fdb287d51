/**
 * Agent endpoints of the server image store (docs/backup-restore.md), next to the other agent
 * calls under {module}/api/agent/jobs/{job}/image/, each with the job's `X-Clonage-Session`:
 *   PUT  …/image/{file}          backup: one file, application/octet-stream, `X-Sha256` required → 201
 *   POST …/image/commit          backup: the line manifest (text/plain) → 200 `image=…`
 *   GET  …/image/manifest        restore: the line manifest of the job's image
 *   GET  …/image/manifest.json   restore: the stored manifest.json
 *   GET  …/image/{file}          restore: a file listed by that manifest
 *   GET  …/image/smb-credentials backup/restore with store=smb: the share and its account (no-store, once)
 * busybox wget cannot PUT (nor POST binary: --post-file stops at the first NUL byte), so the agent
 * sends uploads with busybox nc as a hand-written HTTP/1.0 request. A sub-router: the agent router
 * (agent-routes.ts) mounts it under /jobs/:job/image and answers its errors.
 */
import { pipeline } from 'node:stream/promises';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../../host/contract';
import { InputError } from '../../common/domain/errors';
import { agentCaller } from './pc-router';
import type { ImageService } from '../../images/image-service';
import { ImageIntegrityError, ImageStorageError, ImageTooLargeError } from '../../images/image-types';

/** The commit lists up to 100 000 chunks of ~110 bytes. */
const COMMIT_LIMIT = '16mb';

function contentLength(req: Request): number | undefined {
  const v = req.get('content-length');
  return v !== undefined && /^\d{1,16}$/.test(v) ? Number(v) : undefined;
}

export function imageStatusOf(err: unknown): number | null {
  if (err instanceof ImageTooLargeError) return 413;
  if (err instanceof ImageIntegrityError) return 422;
  if (err instanceof ImageStorageError) return 507;
  return null;
}

/** The image store's agent calls, relative to {agent}/jobs/:job/image. */
export function imageRouter(images: ImageService, logger: Logger): Router {
  const r = express.Router({ mergeParams: true });
  const text = express.text({ type: 'text/*', limit: COMMIT_LIMIT, defaultCharset: 'utf-8' });
  const job = (req: Request) => String(req.params.job);

  r.post('/commit', text, async (req, res) => {
    if (typeof req.body !== 'string') throw new InputError('body: text/plain expected', 'body');
    const out = await images.commit(job(req), agentCaller(req), req.body);
    res.status(200).type('text/plain').send(`image=${out.image}\nbytes=${out.storedBytes}\ndeleted=${out.deleted.join(',')}\n`);
  });

  // The answer holds the share's password: no-store, as every PC route (pc-router.ts).
  r.get('/smb-credentials', (req, res) => {
    res.status(200).type('text/plain').send(images.smbCredentials(job(req), agentCaller(req)));
  });

  r.get('/manifest', async (req, res) => {
    res.status(200).type('text/plain').send(await images.manifestText(job(req), agentCaller(req)));
  });

  r.get('/manifest.json', async (req, res) => {
    res.status(200).json(await images.manifest(job(req), agentCaller(req)));
  });

  r.get('/:file', async (req, res) => {
    const { stream, bytes } = await images.openFile(job(req), agentCaller(req), String(req.params.file));
    res.status(200).type('application/octet-stream').set('Content-Length', String(bytes));
    await pipeline(stream, res).catch((e) => logger.info('image download interrupted', { path: req.path, error: String(e) }));
  });

  r.put('/:file', async (req, res) => {
    if (!req.is('application/octet-stream')) throw new InputError('Content-Type: application/octet-stream expected', 'body');
    // Not destroyed when the store gives up half-way: the error handler still answers (after draining).
    const body = { [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false }) } as AsyncIterable<Buffer>;
    const f = await images.upload(job(req), agentCaller(req), String(req.params.file), body, {
      sha256: req.get('x-sha256'),
      contentLength: contentLength(req),
    });
    res.status(201).type('text/plain').send(`file=${f.file}\nbytes=${f.bytes}\nsha256=${f.sha256}\n`);
  });

  // The agent router answers (imageStatusOf is its statusOf), once the refused upload's body is read.
  r.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const status = imageStatusOf(err);
    if (status !== null) logger.warn('image call refused', { status, path: req.path.slice(0, 120), error: String((err as Error).message) });
    if (res.headersSent) return;
    res.set('Connection', 'close');
    afterBody(req, () => {
      if (!res.headersSent && !res.destroyed) next(err);
    });
  });
  return r;
}

/**
 * Runs `then` once the request body has been read (discarded): answering while the client still
 * sends, then closing, makes its kernel reset the connection and the client never reads the
 * answer (507, 413…). Bounded: a body that does not end within DRAIN_MS is cut.
 */
const DRAIN_MS = 120_000;
function afterBody(req: Request, then: () => void): void {
  if (req.complete || req.destroyed) return then();
  const timer = setTimeout(() => req.destroy(), DRAIN_MS);
  const done = () => {
    clearTimeout(timer);
    then();
  };
  req.once('end', done);
  req.once('error', done);
  req.once('close', done);
  req.resume();
}
