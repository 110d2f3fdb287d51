/**
 * Action pages: wizard steps 3–4, the action page with its live stream, cancel and start-now.
 * Every route needs parc_can_clone; every POST passes the CSRF check; GETs only read. An action
 * whose parcs are not all the user's is 403 (ActionService.assertCanManage).
 */
import express, { type Request, type Response } from 'express';
import type { HostContext } from '../../host/contract';
import { InputError, NotFoundError } from '../../common/domain/errors';
import type { ActionService } from '../../actions/engine/action-service';
import type { Scheduler } from '../../actions/engine/scheduler';
import { paramDefaultsFrom } from '../../actions/params/action-params';
import { ACTION_FORM_LIMITS } from '../../actions/params/limits';
import { deploySourceChoices, type DeploySources } from '../../actions/params/deploy-params';
import { AdminDefaults } from './admin-defaults';
import { ModuleSettings } from '../../settings/module-settings';
import { fieldErrorsOf } from '../../actions/params/field-errors';
import { pageI18n, requestT, withPageI18n } from '../../i18n/page-i18n';
import { userOf, wrap } from './admin-kit';
import type { ActionStreams } from './sse-stream';
import { msg, translateRef } from '../../i18n/module-messages';
import { ACTION_ID_PATTERN } from '../../agent/job-identity';
import { actionTitle } from '../../i18n/action-title';
import { cronInWords } from '../../actions/params/cron-words';
import type { MachineInventory } from '../../inventory/machine-inventory';
import { canRecur, FIELDS_OF, formValues, inputFromForm, restoreChoices, selectionOf, summaryOf } from './wizard-form';
import type { ImageLibrary } from '../../images/image-library';
import { visibleMacs } from './visible-macs';

export interface ActionRouteDeps {
  readonly host: HostContext;
  readonly service: ActionService;
  /** A created action starts at once: the route ticks the scheduler. */
  readonly scheduler: Pick<Scheduler, 'tick'>;
  readonly inventory: MachineInventory;
  /** Good server images a deploy may use (the wizard lists them). */
  readonly sources?: DeploySources;
  /** The live streams of action pages. */
  readonly streams: ActionStreams;
  /** The image library: a restore chooses its image there. */
  readonly library?: Pick<ImageLibrary, 'list'>;
}

function actionId(req: Request): string {
  const id = String(req.params.id);
  if (!ACTION_ID_PATTERN.test(id)) throw new NotFoundError('no such action', msg('missing.action'));
  return id;
}

/** Registers the routes on the module router. */
export function registerActionRoutes(deps: ActionRouteDeps): void {
  const { host, service, inventory } = deps;
  const settings = new ModuleSettings(host.settings);
  const defaults = new AdminDefaults(host.db, host.settings);
  const moved = defaults.importLegacy();
  if (moved) host.logger.info('wizard preferences moved out of the module settings', { count: moved });
  const web = withPageI18n(host.web);
  const r = web.router;
  const base = web.mountPath;
  const clone = web.requireRight('parc_can_clone');
  // The shell parses forms already; a host that does not still gets bounded parsing here.
  const form = express.urlencoded({ extended: false, limit: ACTION_FORM_LIMITS.bytes, parameterLimit: ACTION_FORM_LIMITS.parameters });
  const post = [clone, form, web.verifyCsrf];
  const user = (req: Request) => userOf(web, req);

  /** Wizard step 3 (parameters) or 4 (summary), from a selection and submitted values. */
  async function renderWizard(req: Request, res: Response, body: Record<string, unknown>, step: 3 | 4, extra: Record<string, unknown> = {}) {
    const sel = selectionOf(body);
    const receivers = sel.machines.length;
    const i18n = pageI18n(web.locale(req));
    let restoreImages = null;
    if (sel.type === 'restore' && deps.library) {
      const allowed = await web.parcsOf(user(req), 'parc_can_clone');
      const chosen = (await inventory.machines(sel.parcs, allowed)).filter((m) => sel.machines.includes(m.name.toLowerCase()) && m.mac);
      restoreImages = restoreChoices(deps.library.list(await visibleMacs(web, inventory, req)), chosen.map((m) => m.mac!.toString()), i18n.t, i18n.fmt);
    }
    await web.render(req, res, 'wizard', {
      title: requestT(web, req)('title.newAction'),
      step,
      base,
      parcs: [],
      chosen: sel.parcs,
      machines: [],
      selection: sel,
      fields: sel.type ? FIELDS_OF[sel.type] : [],
      deploySources: sel.type === 'deploy'
        ? await deploySourceChoices(deps.sources, await web.parcsOf(user(req), 'parc_can_clone'), inventory,
          (r) => i18n.t('wizard.restore.otherOption', { machine: r.name, image: r.image, when: i18n.fmt.when(r.createdAt), size: i18n.fmt.size(r.sizeBytes ?? null) }))
        : [],
      restoreImages,
      warnings: [],
      canRecur: canRecur(sel.type),
      values: formValues(body, paramDefaultsFrom(defaults.settingsFor(user(req).login)), receivers),
      smbReady: settings.smb() !== null,
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
        const names = new Map((deps.library?.list(null) ?? []).map((i) => [i.mac, i.machine]));
        await renderWizard(req, res, body, 4, {
          summary: summaryOf(request, t, (d) => fmt.when(d.toISOString()), (mac) => names.get(mac) ?? mac),
          warnings: (request.warnings ?? []).map((w) => translateRef(t, w.ref) ?? w.text),
        });
        return;
      }
      const created = await service.create(user(req), input);
      defaults.remember(user(req).login, body);
      if (created.kind === 'schedule') {
        const t = requestT(web, req);
        const cron = input.cron === undefined ? '' : String(input.cron);
        res.redirect(303, `${base}/schedules?flash=${web.flash(req, t('flash.scheduleCreated', { when: cronInWords(cron.trim().replace(/\s+/g, ' '), t) }))}`);
        return;
      }
      void deps.scheduler.tick().catch((e) => host.logger.error('tick after create failed', { error: String(e) }));
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
    deps.streams.serve(id, web.locale(req), req, res);
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
      void deps.scheduler.tick().catch((e) => host.logger.error('tick after retry failed', { error: String(e) }));
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
}
