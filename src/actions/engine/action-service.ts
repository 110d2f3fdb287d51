/**
 * The action commands of the admin pages: check and create an action (or a recurring schedule),
 * cancel it, start it now with fewer receivers, and read it (view, live stream). Rights are
 * checked here: every parc of an action must be the user's. The timer's side is scheduler.ts,
 * the agents' side src/agent/agent-jobs.ts; all three share ActionCore (one transaction per change).
 */
import { ConflictError, ForbiddenError, NotFoundError } from '../../common/domain/errors';
import type { Clock, HostUser, Logger } from '../../host/contract';
import { ModuleSettings } from '../../settings/module-settings';
import { type ActionCore, reason } from './action-core';
import { msg } from '../../i18n/module-messages';
import type { ActionListener } from './action-bus';
import { paramDefaultsFrom } from '../params/action-params';
import { type ActionInput, type MachineSource, parseActionRequest } from '../params/action-request';
import type { ActionSchedules } from './action-schedules';
import type { ActionRequest, ActionRow } from '../model/action-types';
import { isTerminal } from '../model/action-types';
import { type ActionView, canStartNow, toActionView } from '../model/action-view';
import type { Deployer } from './deploy-coordination';
import type { DeploySources } from '../params/deploy-params';
import { assertNotBusy, insertAction } from './action-intake';
import { FieldErrors } from '../params/field-errors';
import type { JobBlocker } from '../../readiness/readiness';
import { retryRequest } from './action-retry';
import type { ImageChecks } from '../params/image-choice';

/** Who may act on which parcs: host.web.parcsOf(user, 'parc_can_clone'). */
export interface ActionAccess {
  parcsOf(user: HostUser): Promise<'all' | readonly string[]>;
}

export interface ActionServiceDeps {
  readonly core: ActionCore;
  readonly schedules: ActionSchedules;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly machines: MachineSource;
  readonly access: ActionAccess;
  /** Module settings: the wizard's clone.* defaults. */
  readonly settings?: ModuleSettings;
  /** Good server images (a deploy's source). */
  readonly sources?: DeploySources;
  /** The library's and the targets' facts: a restore or deploy is checked against each PC before launch. */
  readonly checks?: ImageChecks;
  /** The server-side multicast sender: a cancelled deploy stops it. */
  readonly deployer?: Deployer;
  /** Why no job can run now (readiness.ts jobBlocker): the wizard refuses, a due action fails unwoken. */
  readonly blocker?: () => Promise<JobBlocker | null>;
}

export type Created = { readonly kind: 'action'; readonly id: string } | { readonly kind: 'schedule'; readonly id: string };


export class ActionService {
  private readonly core: ActionCore;
  private readonly settings: ModuleSettings;

  constructor(private readonly deps: ActionServiceDeps) {
    this.core = deps.core;
    this.settings = deps.settings ?? new ModuleSettings();
  }

  /** Checks an input without storing anything (wizard step 4 shows the result). */
  async validate(user: HostUser, input: ActionInput): Promise<ActionRequest> {
    const now = this.deps.clock.now();
    const allowed = await this.deps.access.parcsOf(user);
    if (allowed !== 'all' && allowed.length === 0) throw new ForbiddenError('no parc is delegated to you', msg('denied.noParc'));
    const request = await parseActionRequest(input, { allowed, machines: this.deps.machines, now, defaults: paramDefaultsFrom(this.settings), sources: this.deps.sources, checks: this.deps.checks });
    await this.assertNotBlocked();
    if (request.timing.kind !== 'cron') assertNotBusy(this.core, request);
    return request;
  }

  /** Refused like a new action when no job can run now (no job environment, no loader…). */
  private async assertNotBlocked(): Promise<void> {
    const blocked = await this.deps.blocker?.();
    if (blocked) throw new FieldErrors({ type: `type: ${blocked.text}` }, { type: msg(`preflight.${blocked.code}`, { name: blocked.name }) });
  }

  /** Validates and stores an action (or a recurring schedule). Nothing is armed before the scheduler's tick. */
  async create(user: HostUser, input: ActionInput): Promise<Created> {
    const now = this.deps.clock.now();
    const request = await this.validate(user, input);
    if (request.timing.kind === 'cron') {
      const t = request.timing;
      const id = this.deps.schedules.create({ ...request, cron: t.cron, createdBy: user.login, now });
      this.deps.logger.info('schedule created', { scheduleId: id, by: user.login, cron: t.cron });
      return { kind: 'schedule', id };
    }
    const startAt = request.timing.kind === 'at' ? request.timing.at : now;
    return { kind: 'action', id: insertAction(this.core, request, user.login, startAt, null) };
  }

  /**
   * Cancels what has not started. Running clone and deploy PCs are stopped too (their next call
   * is answered 410 and stops udpcast): a multicast cannot finish for some of them only. Running
   * backups and restores go on: their disk is being read or written and they end on their own.
   */
  async cancel(actionId: string, user: HostUser): Promise<void> {
    await this.assertCanManage(actionId, user);
    this.core.change(() => {
      const action = this.core.store.action(actionId)!;
      if (isTerminal(action.state)) throw new ConflictError(`action is already ${action.state}`, msg('conflict.finished'));
      for (const t of this.core.store.targets(actionId)) {
        if (t.state === 'running' && action.type === 'deploy') {
          // The sender is the server's and is stopped below: a running receiver cannot finish.
          this.core.moveTarget(t, 'failed', reason(`cancelled by ${user.login}: the multicast sender is stopped, the disk may be partly written`,
            'event.target.cancelledDeploy', { by: user.login }), {}, 'error');
        } else if (t.state === 'running' && action.type === 'clone') {
          this.core.moveTarget(t, 'failed', reason(t.role === 'receiver'
            ? `cancelled by ${user.login}: udpcast is stopped, the disk is partly written`
            : `cancelled by ${user.login}: udpcast is stopped`, t.role === 'receiver' ? 'event.target.cancelledReceiver' : 'event.target.cancelledSender',
          { by: user.login }), {}, 'error');
        } else if (t.state === 'running') {
          this.core.event(actionId, t.id, 'warn', `${t.name} is already running: its disk is not touched, it finishes on its own`, msg('event.alreadyRunning', { name: t.name }));
        } else if (!isTerminal(t.state)) {
          this.core.bootPlans.disarmJob(t.id);
          this.core.moveTarget(t, 'cancelled', reason(`cancelled by ${user.login}`, 'event.target.cancelledBy', { by: user.login }));
        }
      }
      this.core.settle(actionId);
    });
    if (this.core.store.action(actionId)?.type === 'deploy') await this.deps.deployer?.stop(actionId);
  }

  /**
   * "Start now with fewer receivers": min_receivers becomes the number of receivers that fetched
   * their job; the others are cancelled (plans disarmed) so they do not join a finished session.
   */
  async startNow(actionId: string, user: HostUser): Promise<number> {
    await this.assertCanManage(actionId, user);
    return this.core.change(() => {
      const action = this.core.store.action(actionId)!;
      const targets = this.core.store.targets(actionId);
      if (action.params.type !== 'clone' || !canStartNow(action, targets)) {
        throw new ConflictError('start now needs a clone with at least one receiver ready and one still expected', msg('conflict.startNow'));
      }
      const ready = targets.filter((t) => t.role === 'receiver' && t.state === 'running').length;
      this.core.store.updateAction(actionId, { params: { ...action.params, minReceivers: ready } });
      for (const t of targets.filter((x) => x.role === 'receiver' && x.state === 'armed')) {
        this.core.bootPlans.disarmJob(t.id);
        this.core.moveTarget(t, 'cancelled', reason(`left out by ${user.login} (start now)`, 'event.target.leftOut', { by: user.login }));
      }
      const sender = targets.find((t) => t.role === 'sender');
      const senderRuns = sender?.state === 'running';
      this.core.event(actionId, null, 'info', `start now by ${user.login}: min_receivers ${action.params.minReceivers} → ${ready}` +
        (senderRuns ? ' (the sender already runs: it starts at max_wait at the latest)' : ''),
        msg(senderRuns ? 'event.startNowSenderRunning' : 'event.startNow', { by: user.login, before: action.params.minReceivers, after: ready }));
      this.core.settle(actionId);
      return ready;
    });
  }

  /**
   * "Relancer les postes en échec": a new action, same parameters, on the targets that failed
   * (a clone keeps its emitter). Refused like a new action when no job can run or a PC is busy.
   */
  async retryFailed(actionId: string, user: HostUser): Promise<string> {
    const action = await this.assertCanManage(actionId, user);
    const request = retryRequest(action, this.core.store.targets(actionId));
    if (!request) throw new ConflictError('nothing to retry: the action is not finished or no target failed', msg('conflict.nothingToRetry'));
    await this.assertNotBlocked();
    const id = insertAction(this.core, request, user.login, this.deps.clock.now(), null);
    this.core.event(id, null, 'info', `retry of the failed targets of ${actionId} by ${user.login}`, msg('event.retryOf', { by: user.login }));
    this.deps.logger.info('failed targets retried', { from: actionId, action: id, by: user.login });
    return id;
  }

  /** The action if the user may see it: every parc of the action must be theirs. */
  async assertCanManage(actionId: string, user: HostUser): Promise<ActionRow> {
    const action = this.core.store.action(actionId);
    if (!action) throw new NotFoundError(`no action ${actionId}`, msg('missing.action'));
    const allowed = await this.deps.access.parcsOf(user);
    if (allowed !== 'all' && !action.parcs.every((p) => allowed.includes(p))) {
      throw new ForbiddenError('this action concerns parcs that are not delegated to you', msg('denied.actionParcs'));
    }
    return action;
  }

  async view(actionId: string, user: HostUser): Promise<ActionView> {
    await this.assertCanManage(actionId, user);
    return this.snapshot(actionId);
  }

  /** The view without a rights check: for streams already authorised. */
  snapshot(actionId: string): ActionView {
    const action = this.core.store.action(actionId);
    if (!action) throw new NotFoundError(`no action ${actionId}`);
    return toActionView(action, this.core.store.targets(actionId), this.core.store.events(actionId), this.deps.clock.now());
  }

  /** The view without events and logs, for live streams (read once per action per flush). */
  live(actionId: string): ActionView {
    const action = this.core.store.action(actionId);
    if (!action) throw new NotFoundError(`no action ${actionId}`);
    return toActionView(action, this.core.store.liveTargets(actionId), [], this.deps.clock.now());
  }

  subscribe(actionId: string, listener: ActionListener): () => void {
    return this.core.bus.subscribe(actionId, listener);
  }
}
