/**
 * The action service: the one object pages, the agent routes and the timer talk to.
 * All state is in SQLite (restart-safe); the clock, the boot-plan store, the waker and the
 * emitter preparer are passed in. Agent calls are in agent-jobs.ts, time-driven stages in
 * action-lifecycle.ts, the shared transactional core in action-core.ts.
 */
import type { Database } from 'better-sqlite3';
import { ConflictError, ForbiddenError, type MessageRef, NotFoundError } from '../../common/domain/errors';
import type { Clock, HostUser, Logger, SettingsStore } from '../../host/contract';
import { ActionCore, type BootPlans, reason } from './action-core';
import { msg } from '../../i18n/module-messages';
import type { ActionListener } from './action-bus';
import { paramDefaultsFrom } from '../params/action-params';
import { type ActionInput, type MachineSource, parseActionRequest } from '../params/action-request';
import { ActionSchedules } from './action-schedules';
import type { ActionRequest, ActionRow, PlannedTarget, TargetRow } from '../model/action-types';
import { isTerminal } from '../model/action-types';
import { type ActionView, canStartNow, toActionView } from '../model/action-view';
import {
  ActionLifecycle,
  DEFAULT_TIMEOUTS,
  type EmitterPreparer,
  noopWaker,
  type StageTimeouts,
  type Waker,
} from './action-lifecycle';
import { AgentJobs, type FetchedJob } from '../../agent/agent-jobs';
import { addressCheckFrom, type AgentCaller } from '../../agent/agent-caller';
import { DeployCoordination, type Deployer } from './deploy-coordination';
import type { DeploySources } from '../params/deploy-params';
import { udpcastTuningFrom } from '../params/udpcast-tuning';
import { FieldErrors } from '../params/field-errors';
import { newActionId, newJobId, unusableTokenHash } from '../../agent/job-identity';
import { insertWithFreePort } from './port-allocation';
import type { JobBlocker } from '../../readiness/readiness';
import { retryRequest } from './action-retry';

/** Who may act on which parcs: host.web.parcsOf(user, 'parc_can_clone'). */
export interface ActionAccess {
  parcsOf(user: HostUser): Promise<'all' | readonly string[]>;
}

export interface ActionServiceDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly bootPlans: BootPlans;
  readonly logger: Logger;
  readonly machines: MachineSource;
  readonly access: ActionAccess;
  readonly waker?: Waker;
  /** Optional: without one, clones skip the preparing stage (non-domain PCs, Linux). */
  readonly emitterPreparer?: EmitterPreparer;
  /** Module settings: clone.* defaults, toolkit.default, timeouts. */
  readonly settings?: Pick<SettingsStore, 'getOr'>;
  /** Overrides settings, for tests. */
  readonly timeouts?: Partial<StageTimeouts>;
  /** Good server images (a deploy's source) and the server-side multicast sender. */
  readonly sources?: DeploySources;
  readonly deployer?: Deployer;
  /** Why no job can run now (readiness.ts jobBlocker): the wizard refuses, a due action fails unwoken. */
  readonly blocker?: () => Promise<JobBlocker | null>;
}

export type Created = { readonly kind: 'action'; readonly id: string } | { readonly kind: 'schedule'; readonly id: string };

const NO_SETTINGS: Pick<SettingsStore, 'getOr'> = { getOr: <T>(_k: string, fallback: T) => fallback };

export class ActionService {
  private readonly core: ActionCore;
  private readonly lifecycle: ActionLifecycle;
  private readonly agent: AgentJobs;
  readonly schedules: ActionSchedules;
  /** For the server-side multicast sender (src/deploy/). */
  readonly deploy: DeployCoordination;
  private readonly settings: Pick<SettingsStore, 'getOr'>;
  private ticking: Promise<unknown> | null = null;
  /** The one run queued behind a running tick (see tick()). */
  private rerun: Promise<void> | null = null;

  constructor(private readonly deps: ActionServiceDeps) {
    this.settings = deps.settings ?? NO_SETTINGS;
    this.core = new ActionCore(deps.db, deps.clock, deps.bootPlans, deps.logger);
    this.schedules = new ActionSchedules(deps.db);
    this.agent = new AgentJobs(this.core, () => udpcastTuningFrom(this.settings), () => addressCheckFrom(this.settings));
    this.deploy = new DeployCoordination(this.core);
    this.lifecycle = new ActionLifecycle(this.core, {
      waker: deps.waker ?? noopWaker,
      emitterPreparer: deps.emitterPreparer,
      deployer: deps.deployer,
      toolkit: () => String(this.settings.getOr<unknown>('toolkit.default', 'clonage') || 'clonage'),
      timeouts: () => this.timeouts(),
      blocker: deps.blocker,
    });
  }

  timeouts(): StageTimeouts {
    const s = this.settings;
    const o = this.deps.timeouts ?? {};
    const minutes = (v: unknown, d: number) => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : d);
    return {
      preparingMinutes: o.preparingMinutes ?? minutes(s.getOr('emitter.ackTimeoutMinutes', 0), DEFAULT_TIMEOUTS.preparingMinutes),
      armedMinutes: o.armedMinutes ?? minutes(s.getOr('action.armedTimeoutMinutes', 0), DEFAULT_TIMEOUTS.armedMinutes),
      silenceMinutes: o.silenceMinutes ?? minutes(s.getOr('action.silenceTimeoutMinutes', 0), DEFAULT_TIMEOUTS.silenceMinutes),
      activeSilenceMinutes: o.activeSilenceMinutes ?? minutes(s.getOr('action.activeSilenceMinutes', 0), DEFAULT_TIMEOUTS.activeSilenceMinutes),
    };
  }

  /** Checks an input without storing anything (wizard step 4 shows the result). */
  async validate(user: HostUser, input: ActionInput): Promise<ActionRequest> {
    const now = this.deps.clock.now();
    const allowed = await this.deps.access.parcsOf(user);
    if (allowed !== 'all' && allowed.length === 0) throw new ForbiddenError('no parc is delegated to you', msg('denied.noParc'));
    const request = await parseActionRequest(input, { allowed, machines: this.deps.machines, now, defaults: paramDefaultsFrom(this.settings), sources: this.deps.sources });
    const blocked = await this.deps.blocker?.();
    if (blocked) throw new FieldErrors({ type: `type: ${blocked.text}` }, { type: msg(`preflight.${blocked.code}`, { name: blocked.name }) });
    if (request.timing.kind !== 'cron') this.assertNotBusy(request);
    return request;
  }

  /** Validates and stores an action (or a recurring schedule). Nothing is armed before tick(). */
  async create(user: HostUser, input: ActionInput): Promise<Created> {
    const now = this.deps.clock.now();
    const request = await this.validate(user, input);
    if (request.timing.kind === 'cron') {
      const t = request.timing;
      const id = this.schedules.create({ ...request, cron: t.cron, createdBy: user.login, now });
      this.deps.logger.info('schedule created', { scheduleId: id, by: user.login, cron: t.cron });
      return { kind: 'schedule', id };
    }
    const startAt = request.timing.kind === 'at' ? request.timing.at : now;
    return { kind: 'action', id: this.insert(request, user.login, startAt, null) };
  }

  /** Inserts action + targets; refuses machines busy with another unfinished action. */
  private insert(request: Pick<ActionRequest, 'type' | 'params' | 'targets' | 'parcs'>, by: string, startAt: Date, scheduleId: string | null): string {
    const id = newActionId();
    const write = (port: number | null) => {
      this.assertNotBusy(request);
      this.core.store.insert(
        { id, type: request.type, params: request.params, parcs: request.parcs, createdBy: by, createdAt: this.core.nowIso(), startAt: startAt.toISOString(), port, scheduleId },
        request.targets.map((t: PlannedTarget) => ({ id: newJobId(), mac: t.mac.toString(), name: t.name, ip: t.ip.toString(), role: t.role, tokenHash: unusableTokenHash() })),
      );
      const names = request.targets.map((t) => `${t.name} (${t.role})`).join(', ');
      const shown = { by, type: request.type, names: request.targets.map((t) => t.name).join(', '), at: startAt.toISOString() };
      this.core.event(id, null, 'info', `created by ${by}: ${request.type} of ${names}${port ? `, port ${port}` : ''}, start ${startAt.toISOString()}`,
        port ? msg('event.createdPort', { ...shown, port }) : msg('event.created', shown));
    };
    this.core.change(() => (request.type === 'clone' || request.type === 'deploy' ? insertWithFreePort(this.deps.db, write) : write(null)));
    return id;
  }

  /** A machine is in one unfinished action at a time: one boot plan per MAC. */
  private assertNotBusy(request: Pick<ActionRequest, 'type' | 'targets'>): void {
    const busy = this.core.store.busyMacs(request.targets.map((t) => t.mac.toString()));
    if (busy.length) {
      const field = request.type === 'clone' ? 'receivers' : 'machines';
      const first = busy[0];
      const parcs = (this.core.store.action(first.actionId)?.parcs ?? []).join(', ');
      throw new FieldErrors({ [field]: `${field}: ${busy.map((b) => `${b.name} is already in action ${b.actionId}`).join(', ')}` },
        { [field]: msg('preflight.busy', { name: busy.map((b) => b.name).join(', '), parcs }) });
    }
  }

  /**
   * One step of the scheduler: due schedules become actions, due actions start, lost
   * preparations resume, stages that lasted too long fail. Overlapping calls share one run.
   */
  async tick(at?: Date): Promise<void> {
    if (this.ticking) {
      // The running tick may have read the due actions already: an action created meanwhile (the
      // create route ticks at once) would wait for the next periodic tick. One follow-up run,
      // shared by every caller that arrives meanwhile, sees it.
      const running = this.ticking;
      this.rerun ??= running.then(
        () => undefined,
        () => undefined,
      ).then(() => {
        this.rerun = null;
        return this.tick(at);
      });
      return this.rerun;
    }
    const now = at ?? this.deps.clock.now();
    this.ticking = (async () => {
      await this.runDueSchedules(now);
      await this.lifecycle.startDue(now);
      this.lifecycle.resumePreparations();
      this.lifecycle.applyTimeouts(now);
    })();
    try {
      await this.ticking;
    } finally {
      this.ticking = null;
    }
  }

  /**
   * Due schedules become actions, each after a fresh check of its creator's rights and of the
   * parc's machines (ActionSchedules.recheck): a run that no longer holds is skipped, the
   * schedule disabled, and the event says why (on the schedule's last action; logged too).
   */
  private async runDueSchedules(now: Date): Promise<void> {
    for (const s of this.schedules.due(now)) {
      let check: Awaited<ReturnType<typeof ActionSchedules.recheck>>;
      try {
        check = await ActionSchedules.recheck(s, (login) => this.deps.access.parcsOf({ login, displayName: login }), this.deps.machines);
      } catch (e) {
        // A directory that does not answer is not a reason to disable: the run waits for the next tick.
        this.deps.logger.warn('scheduled run postponed: rights or machines could not be checked', { scheduleId: s.id, error: (e as Error).message });
        continue;
      }
      if (!this.schedules.markRun(s, now)) continue;
      if (!check.ok) {
        this.skipRun(s.id, now, check);
        continue;
      }
      try {
        this.insert({ type: s.type, params: ActionSchedules.paramsForRun(s.params, now), targets: check.targets, parcs: s.parcs }, s.createdBy, now, s.id);
      } catch (e) {
        this.deps.logger.warn('scheduled run skipped', { scheduleId: s.id, error: (e as Error).message });
      }
    }
  }

  private skipRun(scheduleId: string, now: Date, why: { key: 'event.schedule.noRight' | 'event.schedule.machinesChanged'; text: string; vars: Record<string, string> }): void {
    this.schedules.disable(scheduleId, now, why.text);
    const text = `schedule ${scheduleId} disabled, run of ${now.toISOString()} skipped: ${why.text}`;
    this.deps.logger.warn(text, { scheduleId });
    const last = this.schedules.lastActionOf(scheduleId);
    if (last) this.core.change(() => this.core.event(last, null, 'warn', text, msg(why.key, { ...why.vars, schedule: scheduleId, at: now.toISOString() })));
  }

  /** At startup: re-evaluates timeouts and disarms any plan left armed for a finished target. */
  async recover(now: Date = this.deps.clock.now()): Promise<void> {
    const since = new Date(now.getTime() - 30 * 86_400_000).toISOString();
    const stale = this.deps.db
      .prepare("SELECT action_id AS actionId FROM clonage_targets WHERE state IN ('failed','cancelled') AND started_at IS NULL AND finished_at >= ? GROUP BY action_id")
      .all(since) as { actionId: string }[];
    let disarmed = 0;
    for (const { actionId } of stale) {
      disarmed += this.core.disarmUnconsumed(this.core.store.targets(actionId).filter((t) => isTerminal(t.state)));
    }
    if (disarmed) this.deps.logger.warn('recover: disarmed plans of finished targets', { disarmed });
    // A deploy's udp-sender lived in the previous process: its receivers would wait for nothing.
    for (const a of this.core.store.actionsIn(['armed', 'running'])) {
      if (a.type === 'deploy' && !this.deps.deployer?.running(a.id)) this.deploy.failAll(a.id, 'the server restarted during the multicast deploy: its sender is gone');
    }
    this.lifecycle.resumedAt(now);
    this.lifecycle.applyTimeouts(now);
    this.lifecycle.resumePreparations();
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
    const blocked = await this.deps.blocker?.();
    if (blocked) throw new FieldErrors({ type: `type: ${blocked.text}` }, { type: msg(`preflight.${blocked.code}`, { name: blocked.name }) });
    const id = this.insert(request, user.login, this.deps.clock.now(), null);
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

  subscribe(actionId: string, listener: ActionListener): () => void {
    return this.core.bus.subscribe(actionId, listener);
  }

  /** Open subscriptions (live pages) of an action: lets tests check streams are released. */
  subscriberCount(actionId: string): number {
    return this.core.bus.listenerCount(actionId);
  }

  /** Resolves when emitter preparations started by this instance are over. */
  async idle(): Promise<void> {
    // A tick may be waking PCs (sockets, timers): stopping must not leave it running on a closed database.
    while (this.ticking || this.rerun) await (this.rerun ?? this.ticking)!.then(() => undefined, () => undefined);
    return this.lifecycle.idle();
  }

  // ------------------------------------------------------------ agent calls (docs/agent-protocol.md)
  fetchJob(jobId: string, caller: AgentCaller): FetchedJob {
    return this.agent.fetchJob(jobId, caller);
  }
  progress(jobId: string, caller: AgentCaller, fields: Readonly<Record<string, unknown>>): void {
    this.agent.progress(jobId, caller, fields);
  }
  log(jobId: string, caller: AgentCaller, text: unknown): void {
    this.agent.log(jobId, caller, text);
  }
  result(jobId: string, caller: AgentCaller, fields: Readonly<Record<string, unknown>>): string {
    return this.agent.result(jobId, caller, fields);
  }
  report(jobId: string, caller: AgentCaller, text: unknown): void {
    this.agent.report(jobId, caller, text);
  }
  /** Whether a boot file with this job's token may go to `address` (the boot routes and TFTP ask). */
  bootFileAllowed(jobId: string, address: string | null, via: string): boolean {
    return this.agent.bootFileAllowed(jobId, address, via);
  }
  /** Good server images a deploy may use (the wizard lists them). */
  deploySources(): DeploySources | undefined {
    return this.deps.sources;
  }
  /** For the image store's agent endpoints (src/images/image-service.ts JobAuthority). */
  authorizeJob(jobId: string, caller: AgentCaller, call?: string): { target: TargetRow; action: ActionRow } {
    return this.agent.authorize(jobId, caller, call);
  }
  /** The SMB share's account for a running job, given once (src/images/image-service.ts). */
  onceForJob<T>(jobId: string, caller: AgentCaller, give: (job: { target: TargetRow; action: ActionRow }) => T): T {
    return this.agent.once(jobId, caller, give);
  }
  jobEvent(jobId: string, level: 'info' | 'warn' | 'error', message: string, ref?: MessageRef): void {
    this.agent.note(jobId, level, message, ref);
  }
}
