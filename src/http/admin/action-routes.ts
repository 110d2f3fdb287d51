/**
 * Action pages: wizard steps 3–4, the action page with its live stream, cancel and start-now.
 * Every route needs parc_can_clone; every POST passes the CSRF check; GETs only read. An action
 * whose parcs are not all the user's is 403 (ActionService.assertCanManage).
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { HostContext, HostUser } from '../../host/contract';
import { InputError, NotFoundError, UnauthorizedError } from '../../common/domain/errors';
import type { ActionService } from '../../actions/engine/action-service';
import type { ActionUpdate } from '../../actions/engine/action-bus';
import type { ActionView } from '../../actions/model/action-view';
import { paramDefaultsFrom } from '../../actions/params/action-params';
import { deploySourceChoices } from '../../actions/params/deploy-params';
import { smbConfigOf } from '../../images/smb-settings';
import { adminDefaults, rememberAdminDefaults } from './admin-defaults';
import { fieldErrorsOf } from '../../actions/params/field-errors';
import { pageI18n, requestT, withPageI18n } from '../../i18n/page-i18n';
import { msg, translateRef } from '../../i18n/module-messages';
import { ACTION_ID_PATTERN } from '../../agent/job-identity';
import { actionTitle } from '../../i18n/action-title';
import { cronInWords } from '../../actions/params/cron-words';
import type { MachineInventory } from '../../inventory/machine-inventory';
import { canRecur, FIELDS_OF, formValues, inputFromForm, selectionOf, summaryOf } from './wizard-form';

export interface ActionRouteDeps {
  readonly host: HostContext;
  readonly service: ActionService;
  readonly inventory: MachineInventory;
  /** SSE keep-alive period; proxies drop silent connections. */
  readonly heartbeatMs?: number;
  /** Coalesces bursts of progress updates into one message per stream. */
  readonly streamThrottleMs?: number;
}

type AsyncHandler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: AsyncHandler): RequestHandler => (req: Request, res: Response, next: NextFunction) => {
  h(req, res).catch(next);
};

function actionId(req: Request): string {
  const id = String(req.params.id);
  if (!ACTION_ID_PATTERN.test(id)) throw new NotFoundError('no such action', msg('missing.action'));
  return id;
}

/** The live part of a view: no event list and no logs (sent once in the snapshot). */
function liveView(v: ActionView) {
  return { ...v, events: [], targets: v.targets.map((t) => ({ ...t, logTail: '' })) };
}

/** Registers the routes; returns a function closing every open live stream (module stop). */
export function registerActionRoutes(deps: ActionRouteDeps): { closeStreams(): void } {
  const { host, service, inventory } = deps;
  const web = withPageI18n(host.web);
  const r = web.router;
  const base = web.mountPath;
  const clone = web.requireRight('parc_can_clone');
  // The shell parses forms already; a host that does not still gets bounded parsing here.
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1200 });
  const post = [clone, form, web.verifyCsrf];
  const streams = new Set<() => void>();
  const user = (req: Request): HostUser => {
    const u = web.currentUser(req);
    if (!u) throw new UnauthorizedError('not logged in');
    return u;
  };

  /** Wizard step 3 (parameters) or 4 (summary), from a selection and submitted values. */
  async function renderWizard(req: Request, res: Response, body: Record<string, unknown>, step: 3 | 4, extra: Record<string, unknown> = {}) {
    const sel = selectionOf(body);
    const receivers = sel.machines.length;
    await web.render(req, res, 'wizard', {
      title: requestT(web, req)('title.newAction'),
      step,
      base,
      parcs: [],
      chosen: sel.parcs,
      machines: [],
      selection: sel,
      fields: sel.type ? FIELDS_OF[sel.type] : [],
      deploySources: sel.type === 'deploy' ? await deploySourceChoices(service.deploySources(), await web.parcsOf(user(req), 'parc_can_clone'), inventory) : [],
      canRecur: canRecur(sel.type),
      values: formValues(body, paramDefaultsFrom(adminDefaults(host.settings, user(req).login)), receivers),
      smbReady: smbConfigOf(host.settings) !== null,
      errors: {},
      summary: [],
      ...extra,
    });
  }

  r.get('/actions/new/params', clone, wrap(async (req, res) => {
    const body = req.query as Record<string, unknown>;
    const sel = selectionOf(body);
    // Only checks the parcs are the user's: the selection itself is validated on POST.
    await inventory.machines(sel.parcs, await web.parcsOf(user(req), 'parc_can_clone'));
    await renderWizard(req, res, body, 3);
  }));

  r.post('/actions', ...post, wrap(async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const input = inputFromForm(body);
    try {
      if (body.confirm !== '1') {
        const request = await service.validate(user(req), input);
        const { t, fmt } = pageI18n(web.locale(req));
        await renderWizard(req, res, body, 4, { summary: summaryOf(request, t, (d) => fmt.when(d.toISOString())) });
        return;
      }
      const created = await service.create(user(req), input);
      rememberAdminDefaults(host.settings, user(req).login, body);
      if (created.kind === 'schedule') {
        const t = requestT(web, req);
        const cron = input.cron === undefined ? '' : String(input.cron);
        res.redirect(303, `${base}/schedules?flash=${web.flash(req, t('flash.scheduleCreated', { when: cronInWords(cron.trim().replace(/\s+/g, ' '), t) }))}`);
        return;
      }
      void service.tick().catch((e) => host.logger.error('tick after create failed', { error: String(e) }));
      res.redirect(303, `${base}/actions/${created.id}`);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      res.status(400);
      const t = requestT(web, req);
      await renderWizard(req, res, body, 3, { errors: fieldErrorsOf(e, (ref) => translateRef(t, ref)) });
    }
  }));

  r.get('/actions/:id', clone, wrap(async (req, res) => {
    const view = await service.view(actionId(req), user(req));
    await web.render(req, res, 'action-detail', { title: actionTitle(pageI18n(web.locale(req)), view), action: view, base });
  }));

  r.get('/actions/:id/events', clone, wrap(async (req, res) => {
    const id = actionId(req);
    await service.assertCanManage(id, user(req));
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // events go out as the page shows them: in the reader's language when they carry a catalog message
    const i18n = pageI18n(web.locale(req));
    const shown = (events: readonly ActionUpdate['events'][number][]) => events.map(({ ref, ...e }) => ({ ...e, message: i18n.event({ message: e.message, ref }) }));
    const first = service.snapshot(id);
    send('snapshot', { ...first, events: shown(first.events) });
    let pendingEvents: ActionUpdate['events'][number][] = [];
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      timer = null;
      send('update', { ...liveView(service.snapshot(id)), events: shown(pendingEvents) });
      pendingEvents = [];
    };
    const unsubscribe = service.subscribe(id, (u) => {
      pendingEvents.push(...u.events);
      if (!timer) timer = setTimeout(flush, deps.streamThrottleMs ?? 250);
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.heartbeatMs ?? 15_000);
    const close = () => {
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      unsubscribe();
      streams.delete(end);
    };
    const end = () => {
      close();
      res.end();
    };
    streams.add(end);
    res.on('close', close);
  }));

  r.post('/actions/:id/cancel', ...post, wrap(async (req, res) => {
    const id = actionId(req);
    await service.cancel(id, user(req));
    res.redirect(303, `${base}/actions/${id}?flash=${web.flash(req, requestT(web, req)('flash.actionCancelled'))}`);
  }));

  r.post('/actions/:id/retry', ...post, wrap(async (req, res) => {
    const id = actionId(req);
    try {
      const created = await service.retryFailed(id, user(req));
      void service.tick().catch((e) => host.logger.error('tick after retry failed', { error: String(e) }));
      res.redirect(303, `${base}/actions/${created}?flash=${web.flash(req, requestT(web, req)('flash.retried'))}`);
    } catch (e) {
      // refused like a new action (busy PC, no boot environment): the reason, translated, on the old action's page
      if (!(e instanceof InputError)) throw e;
      const t = requestT(web, req);
      const why = Object.values(fieldErrorsOf(e, (ref) => translateRef(t, ref))).join(' ');
      res.redirect(303, `${base}/actions/${id}?flash=${web.flash(req, why)}`);
    }
  }));

  r.post('/actions/:id/start-now', ...post, wrap(async (req, res) => {
    const id = actionId(req);
    const n = await service.startNow(id, user(req));
    res.redirect(303, `${base}/actions/${id}?flash=${web.flash(req, requestT(web, req)('flash.startedWith', { count: n }))}`);
  }));

  return {
    closeStreams() {
      for (const end of [...streams]) end();
    },
  };
}
