/**
 * Read-only API routes: readiness checklist, parcs, their machines, a machine's latest report.
 * Parcs and machines are those delegated to the caller (parcsOf), as on the wizard's step 1–2.
 */
import type { Router } from 'express';
import { ForbiddenError, NotFoundError } from '../../common/domain/errors';
import { msg, type ModuleTranslate } from '../../i18n/module-messages';
import { requestT } from '../../i18n/page-i18n';
import { overall } from '../../readiness/readiness';
import { translatedItem } from '../admin/config-routes';
import { machineReportView, machineSummaries } from '../../images/machine-report';
import type { Machine } from '../../inventory/machine-inventory';
import { apiUser } from './token-auth';
import type { ApiDeps } from './api-deps';

const PARC_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const MACHINE_PATTERN = /^[A-Za-z0-9-]{1,15}$/;

export function registerApiReadRoutes(api: Router, deps: ApiDeps): void {
  const { web, inventory, db } = deps;
  const allowedOf = (res: Parameters<typeof apiUser>[0]) => web.parcsOf(apiUser(res), 'parc_can_clone');

  api.get('/readiness', async (req, res) => {
    const t = requestT(web, req);
    const items = await deps.readiness.items();
    res.json({ overall: overall(items), items: items.map((i) => translatedItem(t, i)) });
  });

  api.get('/parcs', async (_req, res) => {
    const parcs = await inventory.parcs(await allowedOf(res));
    res.json(parcs.map((p) => ({ name: p.name, machineCount: p.size })));
  });

  api.get('/parcs/:parc/machines', async (req, res) => {
    const parc = String(req.params.parc);
    const allowed = await allowedOf(res);
    if (!PARC_PATTERN.test(parc)) throw new NotFoundError(`no parc ${parc.slice(0, 64)}`, msg('api.notFound'));
    if (allowed !== 'all' && !allowed.includes(parc)) throw new ForbiddenError(`parc ${parc} is not delegated to you`, msg('denied.parcs', { parcs: parc }));
    if (!(await inventory.parcs(allowed)).some((p) => p.name === parc)) throw new NotFoundError(`no parc ${parc}`, msg('api.notFound'));
    res.json(machinesView(deps, await inventory.machines([parc], allowed), requestT(web, req)));
  });

  api.get('/machines/:machine/report', async (req, res) => {
    const name = String(req.params.machine).toLowerCase();
    if (!MACHINE_PATTERN.test(name)) throw new NotFoundError(`no machine ${name.slice(0, 64)}`, msg('api.notFound'));
    const allowed = await allowedOf(res);
    const parcs = allowed === 'all' ? (await inventory.parcs('all')).map((p) => p.name) : allowed;
    const machine = (await inventory.machines(parcs, allowed)).find((m) => m.name === name);
    if (!machine?.mac) throw new NotFoundError(`no machine ${name} in your parcs`, msg('api.notFound'));
    const view = machineReportView(db, machine.mac.toString());
    if (!view) throw new NotFoundError(`nothing reported or backed up for ${name}`, msg('missing.report', { mac: machine.mac.toString() }));
    const { report, history, backups } = view;
    res.json({
      name: machine.name, mac: view.mac,
      report: report ? { id: report.id, createdAt: report.createdAt, parsed: report.parsed } : null,
      history,
      backups: backups.map((b) => ({ id: b.id, image: b.image, status: b.status, store: b.location, createdAt: b.createdAt, sizeBytes: b.sizeBytes, partitions: b.partitions })),
    });
  });
}

/** Machines as the API lists them: reservation, whether a running action holds them, last report. */
function machinesView(deps: ApiDeps, machines: readonly Machine[], t: ModuleTranslate) {
  const macs = machines.flatMap((m) => (m.mac ? [m.mac.toString()] : []));
  const busy = new Map(deps.store.busyMacs(macs).map((b) => [b.mac, b.actionId]));
  const reports = new Map(machineSummaries(deps.db, new Set(macs)).map((s) => [s.mac, s.lastReportAt]));
  return machines.map((m) => {
    const mac = m.mac?.toString() ?? null;
    return {
      name: m.name, mac, ip: m.ip?.toString() ?? null, reserved: m.hasReservation, selectable: m.selectable, reason: m.reasonKey ? t(m.reasonKey) : m.reason,
      busyActionId: (mac && busy.get(mac)) ?? null, lastReportAt: (mac && reports.get(mac)) ?? null,
    };
  });
}
