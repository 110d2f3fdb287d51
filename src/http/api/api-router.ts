/**
 * The REST API v1 (issue 17 item 3, docs/api.md), mounted at `<module>/api/v1`: JSON in and out,
 * never cached, bodies bounded, every route behind apiAuth (a token, or a session with its CSRF
 * header) except the OpenAPI document. Routes call the same services as the pages (ActionService,
 * ImageLibrary, ScheduleAdmin…) with the caller's current rights; errors become
 * `{error: {code, field, message}}` in the module's error middleware (api-errors.ts).
 */
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { ClonageError, InputError, NotFoundError } from '../../common/domain/errors';
import { msg } from '../../i18n/module-messages';
import { apiAuth } from './token-auth';
import { OPENAPI_DOCUMENT } from './openapi';
import { registerApiReadRoutes } from './api-read-routes';
import { registerApiActionRoutes } from './api-action-routes';
import { registerApiLibraryRoutes } from './api-library-routes';
import type { ApiDeps } from './api-deps';

export type { ApiDeps } from './api-deps';

export { API_BASE_PATH } from './api-errors';

/** Request bodies are small objects: 64 KiB holds a 500-machine action many times over. */
export const API_BODY_LIMIT = '64kb';

const parseJson = express.json({ limit: API_BODY_LIMIT, strict: true, type: () => true });

/** A body, when there is one, is a JSON object sent as application/json. */
function jsonBody(req: Request, res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) {
    req.body = {};
    return next();
  }
  if (!req.is('application/json')) {
    return next(Object.assign(new ClonageError('the body must be application/json', msg('api.jsonExpected')), { status: 415 }));
  }
  parseJson(req, res, (err?: unknown) => {
    if (err) return next(err);
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return next(new InputError('the body must be a JSON object', undefined, msg('api.jsonExpected')));
    next();
  });
}

export function apiRouter(deps: ApiDeps): Router {
  const api = express.Router();
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  api.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI_DOCUMENT);
  });
  // who calls first: nobody's body is parsed before they are known
  api.use(apiAuth(deps.web, deps.tokens), jsonBody);
  registerApiReadRoutes(api, deps);
  registerApiActionRoutes(api, deps);
  registerApiLibraryRoutes(api, deps);
  api.use((_req, _res, next) => next(new NotFoundError('no such API route', msg('api.notFound'))));
  return api;
}
