/**
 * What every admin page route shares: async handlers whose rejections reach the module's error
 * middleware, and the logged-in user (the host's session; none is a 401).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import type { HostContext, HostUser, HostWeb } from '../../host/contract';
import { withPageI18n } from '../../i18n/page-i18n';
import { UnauthorizedError } from '../../common/domain/errors';

export type AsyncHandler = (req: Request, res: Response) => Promise<void>;

export const wrap = (h: AsyncHandler): RequestHandler => (req: Request, res: Response, next: NextFunction) => {
  h(req, res).catch(next);
};

/** The user of a request on a route that requires one. */
export function userOf(web: Pick<HostWeb, 'currentUser'>, req: Request): HostUser {
  const u = web.currentUser(req);
  if (!u) throw new UnauthorizedError('not logged in');
  return u;
}

/**
 * What a page module for parc_can_clone users starts with: the translated web, its router and
 * mount path, the right's guard, and the POST chain (guard, a urlencoded form of at most `form`
 * size and fields, CSRF check).
 */
export function clonePages(host: HostContext, form: { limit: string; fields: number }) {
  const web = withPageI18n(host.web);
  const clone = web.requireRight('parc_can_clone');
  const parse = express.urlencoded({ extended: false, limit: form.limit, parameterLimit: form.fields });
  return { web, r: web.router, base: web.mountPath, clone, post: [clone, parse, web.verifyCsrf] };
}
