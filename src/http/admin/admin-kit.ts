/**
 * What every admin page route shares: async handlers whose rejections reach the module's error
 * middleware, and the logged-in user (the host's session; none is a 401).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { HostUser, HostWeb } from '../../host/contract';
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
