import type { Request, Response, NextFunction, RequestHandler } from 'express';
import type { HostContext } from '../host/contract';
import { UnauthorizedError } from '../domain/errors';
import type { MachineInventory } from '../inventory/machine-inventory';
import { listActions, parseActionListFilter } from '../consult/action-list';

type AsyncHandler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: AsyncHandler): RequestHandler => (req: Request, res: Response, next: NextFunction) => {
  h(req, res).catch(next);
};

/** Reads a query parameter that may repeat (?parc=a&parc=b) as a bounded list of strings. */
export function listParam(v: unknown, max = 200): string[] {
  const arr = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return arr.filter((x): x is string => typeof x === 'string').slice(0, max);
}

export interface PageDeps {
  readonly host: HostContext;
  readonly inventory: MachineInventory;
}

/** Menu pages. Every route states its right; views receive ready data and never query. */
export function registerPageRoutes({ host, inventory }: PageDeps): void {
  const { web, db } = host;
  const r = web.router;
  const clone = web.requireRight('parc_can_clone');
  const user = (req: Request) => {
    const u = web.currentUser(req);
    if (!u) throw new UnauthorizedError('not logged in');
    return u;
  };

  r.get('/actions/new', clone, wrap(async (req, res) => {
    const allowed = await web.parcsOf(user(req), 'parc_can_clone');
    const chosen = listParam(req.query.parc);
    const parcs = await inventory.parcs(allowed);
    const machines = chosen.length ? await inventory.machines(chosen, allowed) : [];
    await web.render(req, res, 'wizard', { title: 'Nouvelle action', parcs, chosen, machines, step: chosen.length ? 2 : 1 });
  }));

  r.get('/actions', clone, wrap(async (req, res) => {
    const allowed = await web.parcsOf(user(req), 'parc_can_clone');
    const filter = parseActionListFilter(req.query as Record<string, unknown>);
    const actions = listActions(db, allowed, filter);
    const parcs = await inventory.parcs(allowed);
    await web.render(req, res, 'actions', { title: 'Consulter les actions', actions, filter, parcs });
  }));

  r.get('/reports', clone, wrap(async (req, res) => {
    const reports = db
      .prepare('SELECT name, mac, MAX(created_at) AS last FROM clonage_reports GROUP BY mac ORDER BY name LIMIT 2000')
      .all();
    const backups = db
      .prepare("SELECT name, mac, image, location, created_at FROM clonage_backups WHERE status = 'succeeded' ORDER BY created_at DESC LIMIT 500")
      .all();
    await web.render(req, res, 'reports', { title: 'Rapports et sauvegardes', reports, backups });
  }));

}
