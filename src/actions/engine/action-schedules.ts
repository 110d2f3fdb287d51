/**
 * Recurring actions (backups, reports) in clonage_schedules. A schedule keeps the validated
 * request (parameters, targets as resolved when it was created, parcs) and its next due time;
 * tick() turns each due schedule into an ordinary action. After downtime a missed run happens
 * once, not once per missed occurrence: next_run_at is recomputed from the time of the run.
 * Before each run, recheck() asks again whether the creator may still act on the parcs and
 * whether the machines are still theirs (issue 12): when not, the run is skipped and the
 * schedule disabled with the reason (disabled_reason), never run on stale rights or addresses.
 */
import type { Database } from 'better-sqlite3';
import { Ipv4 } from '../../common/domain/ipv4';
import { Mac } from '../../common/domain/mac';
import { defaultImageName } from '../params/clone-params';
import type { ActionParams, ActionType, PlannedTarget } from '../model/action-types';
import { nextCronRun } from '../params/cron-expression';
import { newScheduleId } from '../../agent/job-identity';
import type { MachineSource } from '../params/action-request';

export interface ScheduleRow {
  readonly id: string;
  readonly type: ActionType;
  readonly cron: string;
  readonly params: ActionParams;
  readonly targets: PlannedTarget[];
  readonly parcs: string[];
  readonly createdBy: string;
  readonly enabled: boolean;
  readonly lastRunAt: string | null;
  readonly nextRunAt: string | null;
  /** Why the server disabled it (rights or machines changed), else null. */
  readonly disabledReason: string | null;
}

interface StoredTarget {
  name: string;
  mac: string;
  ip: string;
  role: PlannedTarget['role'];
}

function toRow(r: Record<string, unknown>): ScheduleRow {
  const targets = (JSON.parse(String(r.targets_json)) as StoredTarget[]).map((t) => ({
    name: t.name,
    mac: Mac.parse(t.mac),
    ip: Ipv4.parse(t.ip),
    role: t.role,
  }));
  return {
    id: String(r.id),
    type: r.type as ActionType,
    cron: String(r.cron),
    params: JSON.parse(String(r.params_json)) as ActionParams,
    targets,
    parcs: JSON.parse(String(r.parcs_json)) as string[],
    createdBy: String(r.created_by),
    enabled: Number(r.enabled) === 1,
    lastRunAt: r.last_run_at === null ? null : String(r.last_run_at),
    nextRunAt: r.next_run_at === null ? null : String(r.next_run_at),
    disabledReason: r.disabled_reason === null || r.disabled_reason === undefined ? null : String(r.disabled_reason),
  };
}

export class ActionSchedules {
  constructor(private readonly db: Database) {}

  create(input: {
    type: ActionType;
    cron: string;
    params: ActionParams;
    targets: readonly PlannedTarget[];
    parcs: readonly string[];
    createdBy: string;
    now: Date;
  }): string {
    const id = newScheduleId();
    const next = nextCronRun(input.cron, input.now);
    const targets: StoredTarget[] = input.targets.map((t) => ({ name: t.name, mac: t.mac.toString(), ip: t.ip.toString(), role: t.role }));
    this.db
      .prepare(
        `INSERT INTO clonage_schedules (id, type, cron, params_json, targets_json, created_by, enabled, parcs_json, created_at, next_run_at)
         VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
      )
      .run(id, input.type, input.cron, JSON.stringify(input.params), JSON.stringify(targets), input.createdBy,
        JSON.stringify(input.parcs), input.now.toISOString(), next ? next.toISOString() : null);
    return id;
  }

  get(id: string): ScheduleRow | null {
    const r = this.db.prepare('SELECT * FROM clonage_schedules WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r ? toRow(r) : null;
  }

  list(): ScheduleRow[] {
    return (this.db.prepare('SELECT * FROM clonage_schedules ORDER BY created_at, id').all() as Record<string, unknown>[]).map(toRow);
  }

  due(now: Date): ScheduleRow[] {
    const rows = this.db
      .prepare('SELECT * FROM clonage_schedules WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at, id')
      .all(now.toISOString()) as Record<string, unknown>[];
    return rows.map(toRow);
  }

  /** Records a run and moves next_run_at after `now`; returns false if another runner did it first. */
  markRun(s: ScheduleRow, now: Date): boolean {
    const next = nextCronRun(s.cron, now);
    return (
      this.db
        .prepare('UPDATE clonage_schedules SET last_run_at = ?, next_run_at = ? WHERE id = ? AND next_run_at IS ?')
        .run(now.toISOString(), next ? next.toISOString() : null, s.id, s.nextRunAt).changes === 1
    );
  }

  setEnabled(id: string, enabled: boolean): void {
    this.db.prepare('UPDATE clonage_schedules SET enabled = ?, disabled_reason = NULL, disabled_at = NULL WHERE id = ?').run(enabled ? 1 : 0, id);
  }

  /** Disabled by the server, with why (shown with the schedule and in the event). */
  disable(id: string, now: Date, why: string): void {
    this.db.prepare('UPDATE clonage_schedules SET enabled = 0, disabled_reason = ?, disabled_at = ? WHERE id = ?').run(why.slice(0, 500), now.toISOString(), id);
  }

  /** The newest action a schedule created: where the event of a skipped run is shown. */
  lastActionOf(id: string): string | null {
    const r = this.db.prepare('SELECT id FROM clonage_actions WHERE schedule_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(id) as { id: string } | undefined;
    return r?.id ?? null;
  }

  /**
   * Whether a run may go ahead now: the creator still may act on every parc of the schedule
   * (`parcsOf`, as when it was created), and every machine is still in those parcs, selectable,
   * with the same MAC. Yields the targets with their current reserved IP, or why not.
   */
  static async recheck(
    s: ScheduleRow,
    parcsOf: (login: string) => Promise<'all' | readonly string[]>,
    machines: MachineSource,
  ): Promise<{ ok: true; targets: PlannedTarget[] } | { ok: false; key: 'event.schedule.noRight' | 'event.schedule.machinesChanged'; text: string; vars: Record<string, string> }> {
    const allowed = await parcsOf(s.createdBy);
    const lost = allowed === 'all' ? [] : s.parcs.filter((p) => !allowed.includes(p));
    if (lost.length) {
      const parcs = lost.join(', ');
      return { ok: false, key: 'event.schedule.noRight', text: `${s.createdBy} may no longer act on ${parcs}`, vars: { by: s.createdBy, parcs } };
    }
    const now = await machines.machines(s.parcs, allowed);
    const gone: string[] = [];
    const targets: PlannedTarget[] = [];
    for (const t of s.targets) {
      const m = now.find((x) => x.name === t.name);
      if (!m || !m.selectable || !m.mac || !m.ip || !m.mac.equals(t.mac)) gone.push(t.name);
      else targets.push({ ...t, ip: m.ip });
    }
    if (gone.length) {
      const names = gone.join(', ');
      return { ok: false, key: 'event.schedule.machinesChanged', text: `${names} no longer in ${s.parcs.join(', ')} with the same MAC and a DHCP reservation`, vars: { names, parcs: s.parcs.join(', ') } };
    }
    return { ok: true, targets };
  }

  /**
   * Parameters of one run. A backup named with the default pattern gets the run's date, so
   * weekly backups do not all carry the day the schedule was created.
   */
  static paramsForRun(params: ActionParams, now: Date): ActionParams {
    if (params.type === 'backup' && /^image_\d{8}$/.test(params.image)) return { ...params, image: defaultImageName(now) };
    return params;
  }
}
