/**
 * The schedules page's service (issue 16 item 5): the schedules a user may manage (every parc of
 * the schedule theirs, as for actions), their next runs and last result; pause, resume, delete.
 * The REST API calls the same methods.
 */
import type { Database } from 'better-sqlite3';
import { ForbiddenError, NotFoundError } from '../../common/domain/errors';
import type { Clock, HostUser, Logger } from '../../host/contract';
import { msg } from '../../i18n/module-messages';
import type { ActionState, ActionType } from '../model/action-types';
import { isPartial, targetCounts } from '../model/action-outcome';
import { type ActionSchedules, type ScheduleRow } from './action-schedules';
import { Cron } from 'croner';

export interface ScheduleView {
  readonly id: string;
  readonly type: ActionType;
  readonly cron: string;
  readonly parcs: readonly string[];
  readonly machines: readonly string[];
  readonly createdBy: string;
  readonly enabled: boolean;
  /** Disabled by the server (rights or machines changed), not by a person. */
  readonly disabledByServer: boolean;
  readonly nextRuns: readonly string[];
  readonly lastRun: { readonly actionId: string; readonly state: ActionState; readonly partial: boolean; readonly at: string } | null;
}

export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export class ScheduleAdmin {
  constructor(private readonly deps: {
    readonly db: Database;
    readonly schedules: ActionSchedules;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly parcsOf: (user: HostUser) => Promise<'all' | readonly string[]>;
  }) {}

  private mine(s: ScheduleRow, allowed: 'all' | readonly string[]): boolean {
    return allowed === 'all' || s.parcs.every((p) => allowed.includes(p));
  }

  async list(user: HostUser): Promise<ScheduleView[]> {
    const allowed = await this.deps.parcsOf(user);
    return this.deps.schedules.list().filter((s) => this.mine(s, allowed)).map((s) => this.view(s));
  }

  private view(s: ScheduleRow): ScheduleView {
    const now = this.deps.clock.now();
    let nextRuns: string[] = [];
    if (s.enabled) {
      try {
        nextRuns = new Cron(s.cron, { paused: true }).nextRuns(3, now).map((d) => d.toISOString());
      } catch {
        nextRuns = [];
      }
    }
    const last = this.deps.schedules.lastActionOf(s.id);
    let lastRun: ScheduleView['lastRun'] = null;
    if (last) {
      const a = this.deps.db.prepare('SELECT state, start_at AS at FROM clonage_actions WHERE id = ?').get(last) as { state: ActionState; at: string };
      const targets = this.deps.db.prepare('SELECT state FROM clonage_targets WHERE action_id = ?').all(last) as { state: ActionState }[];
      lastRun = { actionId: last, state: a.state, partial: isPartial(a.state, targetCounts(targets)), at: a.at };
    }
    return { id: s.id, type: s.type, cron: s.cron, parcs: s.parcs, machines: s.targets.map((t) => t.name), createdBy: s.createdBy,
      enabled: s.enabled, disabledByServer: !s.enabled && s.disabledReason !== null, nextRuns, lastRun };
  }

  private async own(id: string, user: HostUser): Promise<ScheduleRow> {
    const s = SCHEDULE_ID_PATTERN.test(id) ? this.deps.schedules.get(id) : null;
    if (!s) throw new NotFoundError(`no schedule ${id}`, msg('schedules.missing'));
    if (!this.mine(s, await this.deps.parcsOf(user))) throw new ForbiddenError('this schedule concerns parcs that are not delegated to you', msg('schedules.denied'));
    return s;
  }

  async setEnabled(id: string, user: HostUser, enabled: boolean): Promise<void> {
    const s = await this.own(id, user);
    this.deps.schedules.setEnabled(s.id, enabled);
    if (enabled) {
      // resumed: the next run is the next occurrence from now, not the ones missed while paused
      const next = new Cron(s.cron, { paused: true }).nextRun(this.deps.clock.now());
      this.deps.db.prepare('UPDATE clonage_schedules SET next_run_at = ? WHERE id = ?').run(next ? next.toISOString() : null, s.id);
    }
    this.deps.logger.info(enabled ? 'schedule resumed' : 'schedule paused', { scheduleId: s.id, by: user.login });
  }

  async delete(id: string, user: HostUser): Promise<void> {
    const s = await this.own(id, user);
    this.deps.db.prepare('DELETE FROM clonage_schedules WHERE id = ?').run(s.id);
    this.deps.logger.info('schedule deleted', { scheduleId: s.id, by: user.login });
  }
}
