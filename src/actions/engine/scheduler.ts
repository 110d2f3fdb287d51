/**
 * The scheduler: the one timer of the module. Each tick turns due schedules into actions, starts
 * due actions (ActionLifecycle: preparation, arming, waking), relaunches preparations a restart
 * lost and fails stages that lasted too long. Everything is read from the database and the `now`
 * passed in, so recover() at start picks up where a previous process stopped.
 */
import type { Clock, Logger } from '../../host/contract';
import type { ModuleSettings } from '../../settings/module-settings';
import type { ActionCore } from './action-core';
import type { ActionLifecycle, StageTimeouts } from './action-lifecycle';
import { ActionSchedules } from './action-schedules';
import type { DeployCoordination, Deployer } from './deploy-coordination';
import { insertAction } from './action-intake';
import type { ActionAccess } from './action-service';
import type { MachineSource } from '../params/action-request';
import { msg } from '../../i18n/module-messages';
import { isTerminal } from '../model/action-types';

export interface SchedulerDeps {
  readonly core: ActionCore;
  /** A recurring run re-checks its creator's rights and the parc's machines (ActionSchedules.recheck). */
  readonly access: ActionAccess;
  readonly machines: MachineSource;
  readonly lifecycle: ActionLifecycle;
  readonly schedules: ActionSchedules;
  readonly deploy: DeployCoordination;
  readonly deployer?: Deployer;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Stage timeouts: the settings (src/settings/clone.ts; an unusable value is its default); `overrides` first (tests). */
export function stageTimeouts(settings: ModuleSettings, overrides: Partial<StageTimeouts> = {}): StageTimeouts {
  const a = settings.actions();
  return {
    preparingMinutes: overrides.preparingMinutes ?? a.preparingMinutes,
    armedMinutes: overrides.armedMinutes ?? a.armedMinutes,
    silenceMinutes: overrides.silenceMinutes ?? a.silenceMinutes,
    activeSilenceMinutes: overrides.activeSilenceMinutes ?? a.activeSilenceMinutes,
  };
}

export class Scheduler {
  private ticking: Promise<unknown> | null = null;
  /** The one run queued behind a running tick (see tick()). */
  private rerun: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Ticks every `periodMs` (and once now); 0 starts no timer (tests call tick()). */
  start(periodMs: number): void {
    if (periodMs <= 0 || this.timer) return;
    const tick = () => this.tick().catch((e) => this.deps.logger.error('action tick failed', { error: String((e as Error)?.stack ?? e) }));
    this.timer = setInterval(tick, periodMs);
    void tick();
  }

  /** Stops the timer; idle() then waits for what runs. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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
      await this.deps.lifecycle.startDue(now);
      this.deps.lifecycle.resumePreparations();
      this.deps.lifecycle.applyTimeouts(now);
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
    const { schedules } = this.deps;
    for (const s of schedules.due(now)) {
      let check: Awaited<ReturnType<typeof ActionSchedules.recheck>>;
      try {
        check = await ActionSchedules.recheck(s, (login) => this.deps.access.parcsOf({ login, displayName: login }), this.deps.machines);
      } catch (e) {
        // A directory that does not answer is not a reason to disable: the run waits for the next tick.
        this.deps.logger.warn('scheduled run postponed: rights or machines could not be checked', { scheduleId: s.id, error: (e as Error).message });
        continue;
      }
      if (!schedules.markRun(s, now)) continue;
      if (!check.ok) {
        this.skipRun(s.id, now, check);
        continue;
      }
      try {
        insertAction(this.deps.core, { type: s.type, params: ActionSchedules.paramsForRun(s.params, now), targets: check.targets, parcs: s.parcs }, s.createdBy, now, s.id);
      } catch (e) {
        this.deps.logger.warn('scheduled run skipped', { scheduleId: s.id, error: (e as Error).message });
      }
    }
  }

  private skipRun(scheduleId: string, now: Date, why: { key: 'event.schedule.noRight' | 'event.schedule.machinesChanged'; text: string; vars: Record<string, string> }): void {
    const { core, schedules } = this.deps;
    schedules.disable(scheduleId, now, why.text);
    const text = `schedule ${scheduleId} disabled, run of ${now.toISOString()} skipped: ${why.text}`;
    this.deps.logger.warn(text, { scheduleId });
    const last = schedules.lastActionOf(scheduleId);
    if (last) core.change(() => core.event(last, null, 'warn', text, msg(why.key, { ...why.vars, schedule: scheduleId, at: now.toISOString() })));
  }

  /** At startup: re-evaluates timeouts and disarms any plan left armed for a finished target. */
  async recover(now: Date = this.deps.clock.now()): Promise<void> {
    const { core, lifecycle } = this.deps;
    const since = new Date(now.getTime() - 30 * 86_400_000).toISOString();
    let disarmed = 0;
    for (const actionId of core.store.actionsWithUnstartedEndedTargets(since)) {
      disarmed += core.disarmUnconsumed(core.store.targets(actionId).filter((t) => isTerminal(t.state)));
    }
    if (disarmed) this.deps.logger.warn('recover: disarmed plans of finished targets', { disarmed });
    // A deploy's udp-sender lived in the previous process: its receivers would wait for nothing.
    for (const a of core.store.actionsIn(['armed', 'running'])) {
      if (a.type === 'deploy' && !this.deps.deployer?.running(a.id)) this.deps.deploy.failAll(a.id, 'the server restarted during the multicast deploy: its sender is gone');
    }
    lifecycle.resumedAt(now);
    lifecycle.applyTimeouts(now);
    lifecycle.resumePreparations();
  }

  /** Resolves when the tick in progress and the preparations started by this process are over. */
  async idle(): Promise<void> {
    // A tick may be waking PCs (sockets, timers): stopping must not leave it running on a closed database.
    while (this.ticking || this.rerun) await (this.rerun ?? this.ticking)!.then(() => undefined, () => undefined);
    return this.deps.lifecycle.idle();
  }
}
