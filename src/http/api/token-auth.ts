/**
 * Who calls the REST API, decided in one place for every route: a bearer token (its owner), or a
 * browser session that also sends its CSRF token in `x-csrf-token` (a page's own fetch). A bare
 * session cookie is refused: another site could make the browser send it. Either way the
 * caller's rights are read again on every request (parc_can_clone or system_is_admin; the
 * routes then ask parcsOf() for the delegated parcs, exactly as the pages do).
 */
import crypto from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { HostUser, HostWeb } from '../../host/contract';
import { ForbiddenError, UnauthorizedError } from '../../common/domain/errors';
import { msg } from '../../i18n/module-messages';
import type { ApiTokens } from './api-tokens';

function sameText(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}

/** The caller of an API request, set by apiAuth (a route behind it always has one). */
export function apiUser(res: Response): HostUser {
  const u = res.locals.apiUser as HostUser | undefined;
  if (!u) throw new UnauthorizedError('no API caller', msg('api.unauthorized'));
  return u;
}

function callerOf(req: Request, web: Pick<HostWeb, 'currentUser' | 'csrfToken'>, tokens: ApiTokens): HostUser {
  const header = req.get('authorization');
  if (header !== undefined) {
    const m = /^Bearer ([!-~]{1,200})$/i.exec(header.trim());
    const owner = m ? tokens.authenticate(m[1])?.owner : undefined;
    if (!owner) throw new UnauthorizedError('API token missing, unknown or revoked', msg('api.unauthorized'));
    return { login: owner, displayName: owner };
  }
  const session = web.currentUser(req);
  if (!session) throw new UnauthorizedError('API token missing', msg('api.unauthorized'));
  const sent = req.get('x-csrf-token');
  if (typeof sent !== 'string' || !sameText(sent, web.csrfToken(req))) {
    throw new ForbiddenError('a browser session needs the x-csrf-token header on the API', msg('api.sessionNeedsCsrf'));
  }
  return session;
}

export function apiAuth(web: Pick<HostWeb, 'currentUser' | 'csrfToken' | 'can'>, tokens: ApiTokens): RequestHandler {
  return async (req, res, next) => {
    const user = callerOf(req, web, tokens);
    if (!(await web.can(user, 'parc_can_clone'))) throw new ForbiddenError(`${user.login} holds neither parc_can_clone nor system_is_admin`, msg('api.rightRequired'));
    res.locals.apiUser = user;
    next();
  };
}
