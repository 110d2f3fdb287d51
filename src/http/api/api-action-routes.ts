/**
 * Action routes of the API: list, create (the wizard's parsing: same rules, same messages),
 * get, live events (the action page's SSE stream), cancel, start now, retry the failed PCs.
 * Every call goes through ActionService with the caller, which checks every parc is theirs.
 */
import type { Request, Response, Router } from 'express';
import { InputError, NotFoundError } from '../../common/domain/errors';
import { msg } from '../../i18n/module-messages';
import { ACTION_ID_PATTERN } from '../../agent/job-identity';
import { listActions, parseActionListFilter, type ActionListRow } from '../../consult/action-list';
import type { ActionView } from '../../actions/model/action-view';
import type { ActionInput } from '../../actions/params/action-request';
import { FIELDS_OF, inputFromForm, PARAM_FIELDS, summaryOf } from '../admin/wizard-form';
import { pageI18n } from '../../i18n/page-i18n';
import type { ActionType } from '../../actions/model/action-types';
import { shownEvents } from '../admin/sse-stream';
import { apiUser } from './token-auth';
import type { ApiDeps } from './api-deps';

/** Fields of an action body: the wizard's field names, with `machines` for its checkboxes. */
const COMMON_FIELDS = ['type', 'parc', 'machines', 'start', 'start_at', 'cron'] as const;
export const ACTION_BODY_FIELDS = [...COMMON_FIELDS, 'emitter', ...PARAM_FIELDS] as const;
const LIST_FILTERS = ['type', 'state', 'parc', 'machine', 'from', 'to'];

/** An API body → the wizard's input, through the wizard's own mapping (inputFromForm). Unknown fields are refused. */
export function actionInputOf(body: Readonly<Record<string, unknown>>): ActionInput {
  for (const k of Object.keys(body)) {
    if (!(ACTION_BODY_FIELDS as readonly string[]).includes(k)) throw new InputError(`${k.slice(0, 40)}: unknown field`, k.slice(0, 40), msg('api.field', { field: k.slice(0, 40) }));
  }
  // A field the wizard does not show for this type would be silently ignored there: a script is told.
  const type = body.type;
  if (typeof type === 'string' && Object.prototype.hasOwnProperty.call(FIELDS_OF, type)) {
    const used: readonly string[] = [...COMMON_FIELDS, ...FIELDS_OF[type as ActionType], ...(type === 'clone' ? ['emitter'] : [])];
    const extra = Object.keys(body).find((k) => !used.includes(k));
    if (extra) throw new InputError(`${extra}: not used by a ${type} action`, extra, msg('api.notForType', { field: extra }));
  }
  // Likewise the wizard reads start_at only for start: at, cron only for start: cron.
  for (const [field, start] of [['start_at', 'at'], ['cron', 'cron']] as const) {
    if (body[field] !== undefined && body.start !== start) throw new InputError(`${field}: only with start: ${start}`, field, msg('api.onlyWithStart', { field, start }));
  }
  // The wizard's number fields are text; a JSON number is written the way a form would send it.
  const form: Record<string, unknown> = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v === 'number' && Number.isFinite(v) ? String(v) : v]));
  form.machine = form.machines;
  delete form.machines;
  return inputFromForm(form);
}

export function actionIdOf(req: Request): string {
  const id = String(req.params.id);
  if (!ACTION_ID_PATTERN.test(id)) throw new NotFoundError('no such action', msg('missing.action'));
  return id;
}

function listRow(r: ActionListRow) {
  return {
    id: r.id, type: r.type, state: r.state, parcs: r.parcs, machines: r.machines, createdBy: r.created_by, createdAt: r.created_at,
    startAt: r.start_at, finishedAt: r.finished_at, counts: { targets: r.targets, succeeded: r.succeeded, failed: r.failed },
  };
}

/** An action as the page shows it, events in the caller's language. */
export function actionJson(req: Request, deps: Pick<ApiDeps, 'web'>, v: ActionView) {
  return { ...v, events: shownEvents(deps.web.locale(req), v.events) };
}

export function registerApiActionRoutes(api: Router, deps: ApiDeps): void {
  const { web, actions } = deps;
  const tick = () => void deps.scheduler.tick().catch(deps.onTickError);
  const view = async (req: Request, res: Response, id: string) => actionJson(req, deps, await actions.view(id, apiUser(res)));

  api.get('/actions', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const unknown = Object.keys(q).find((k) => !LIST_FILTERS.includes(k));
    if (unknown) throw new InputError(`${unknown.slice(0, 40)}: unknown filter`, unknown.slice(0, 40), msg('api.badQuery', { field: unknown.slice(0, 40) }));
    const filter = parseActionListFilter(q);
    res.json(listActions(deps.db, await web.parcsOf(apiUser(res), 'parc_can_clone'), filter).map(listRow));
  });

  api.post('/actions', async (req, res) => {
    const dryRun = req.query.dryRun;
    if (dryRun !== undefined && dryRun !== '1') throw new InputError('dryRun: 1 or absent', 'dryRun', msg('api.badQuery', { field: 'dryRun' }));
    const input = actionInputOf(req.body as Record<string, unknown>);
    if (dryRun === '1') {
      // the wizard's step 4: checked, nothing stored, what would happen in the caller's language
      const { t, fmt } = pageI18n(web.locale(req));
      res.json({ summary: summaryOf(await actions.validate(apiUser(res), input), t, (d) => fmt.when(d.toISOString())) });
      return;
    }
    const created = await actions.create(apiUser(res), input);
    if (created.kind === 'schedule') {
      const schedule = (await deps.schedules.list(apiUser(res))).find((s) => s.id === created.id);
      res.status(201).json({ schedule });
      return;
    }
    tick();
    res.status(201).json({ action: await view(req, res, created.id) });
  });

  api.get('/actions/:id', async (req, res) => {
    res.json({ action: await view(req, res, actionIdOf(req)) });
  });

  api.get('/actions/:id/events', async (req, res) => {
    const id = actionIdOf(req);
    await actions.assertCanManage(id, apiUser(res));
    deps.streams.serve(id, web.locale(req), req, res);
  });

  api.post('/actions/:id/cancel', async (req, res) => {
    const id = actionIdOf(req);
    await actions.cancel(id, apiUser(res));
    res.json({ action: await view(req, res, id) });
  });

  api.post('/actions/:id/start', async (req, res) => {
    const id = actionIdOf(req);
    const receivers = await actions.startNow(id, apiUser(res));
    res.json({ receivers, action: await view(req, res, id) });
  });

  api.post('/actions/:id/retry-failed', async (req, res) => {
    const created = await actions.retryFailed(actionIdOf(req), apiUser(res));
    tick();
    res.status(201).json({ action: await view(req, res, created) });
  });
}
