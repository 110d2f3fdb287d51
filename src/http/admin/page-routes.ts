import type { Request } from 'express';
import type { HostContext } from '../../host/contract';
import { ForbiddenError, NotFoundError } from '../../common/domain/errors';
import { Mac } from '../../common/domain/mac';
import { BackupRecords } from '../../images/backup-records';
import { machineReportView, machineSummaries } from '../../images/machine-report';
import type { MachineInventory } from '../../inventory/machine-inventory';
import { listActions, parseActionListFilter } from '../../consult/action-list';
import { machineFacts } from '../../consult/machine-facts';
import { requestT, withPageI18n } from '../../i18n/page-i18n';
import { msg } from '../../i18n/module-messages';
import { userOf, wrap } from './admin-kit';
import { visibleMacs as visibleMacsOf } from './visible-macs';


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
  const { db } = host;
  const web = withPageI18n(host.web);
  const r = web.router;
  const clone = web.requireRight('parc_can_clone');
  const user = (req: Request) => userOf(web, req);

  r.get('/actions/new', clone, wrap(async (req, res) => {
    const allowed = await web.parcsOf(user(req), 'parc_can_clone');
    const chosen = listParam(req.query.parc);
    const parcs = await inventory.parcs(allowed);
    const machines = chosen.length ? await inventory.machines(chosen, allowed) : [];
    // step 2 says per PC whether it is free, and when its agent was last heard of (never a network probe)
    const facts = machineFacts(db, machines.flatMap((m) => (m.mac ? [m.mac.toString()] : [])));
    await web.render(req, res, 'wizard', {
      title: requestT(web, req)('title.newAction'), parcs, chosen, step: chosen.length ? 2 : 1, base: web.mountPath,
      machines: machines.map((m) => ({ ...m, facts: m.mac ? facts.get(m.mac.toString()) ?? null : null })),
    });
  }));

  r.get('/actions', clone, wrap(async (req, res) => {
    const allowed = await web.parcsOf(user(req), 'parc_can_clone');
    const filter = parseActionListFilter(req.query as Record<string, unknown>);
    const actions = listActions(db, allowed, filter);
    const parcs = await inventory.parcs(allowed);
    await web.render(req, res, 'actions', { title: requestT(web, req)('title.actions'), actions, filter, parcs, base: web.mountPath });
  }));

  const visibleMacs = (req: Request) => visibleMacsOf(web, inventory, req);

  r.get('/reports', clone, wrap(async (req, res) => {
    const macs = await visibleMacs(req);
    const machines = machineSummaries(db, macs);
    const backups = new BackupRecords(db).allSucceeded().filter((b) => !macs || macs.has(b.mac));
    await web.render(req, res, 'reports', { title: requestT(web, req)('title.reports'), machines, backups });
  }));

  r.get('/reports/:mac', clone, wrap(async (req, res) => {
    const mac = Mac.parse(String(req.params.mac)).toString();
    const macs = await visibleMacs(req);
    if (macs && !macs.has(mac)) throw new ForbiddenError('this machine is not in a parc delegated to you', msg('denied.machine'));
    const raw = req.query.report;
    const reportId = typeof raw === 'string' && /^\d{1,12}$/.test(raw) ? Number(raw) : undefined;
    const view = machineReportView(db, mac, reportId);
    if (!view) throw new NotFoundError(`nothing reported or backed up for ${mac}`, msg('missing.report', { mac }));
    await web.render(req, res, 'report-machine', { title: requestT(web, req)('title.report', { name: view.name }), view, base: web.mountPath });
  }));

}
