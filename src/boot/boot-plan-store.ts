/**
 * Boot plans per MAC, in SQLite. One row per MAC: arming replaces what was there.
 *
 * Lifecycle of a job plan: armed → (PXE boots read it, any number of times) → consumed when the
 * agent fetches its job (consume(), one atomic UPDATE, the token erased) → the row stays, and
 * while it stays the MAC boots its local disk: a consumed plan is never served again, which is
 * what SE3's syslog-grepping cron failed to guarantee (se3-reference.md §7, stale PXE files).
 * disarm()/disarmJob() delete the row (the MAC goes back to the default menu);
 * purgeConsumed() forgets old consumed rows the same way.
 * A consumed job whose disk was left partly written becomes an `incomplete` plan
 * (markIncomplete): served, never purged, until a new plan is armed for that MAC or it is disarmed.
 */
import type { Database, Statement } from 'better-sqlite3';
import { ConflictError } from '../common/domain/errors';
import { Mac } from '../common/domain/mac';
import type { Clock } from '../host/contract';
import { migrate, type Migration } from '../common/store/migrations';
import { checkJobId, incompletePlan, jobPlan, localPlan, menuPlan, type BootPlan } from './boot-plan';

export const BOOT_MIGRATION_OWNER = 'clonage.boot';

const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'boot plans per MAC',
    sql: `
      CREATE TABLE clonage_boot_plans (
        mac TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('local','menu','job')),
        job_id TEXT,
        token TEXT,
        toolkit TEXT,
        label TEXT,
        created_at TEXT NOT NULL,
        consumed_at TEXT,
        CHECK ((kind = 'job') = (job_id IS NOT NULL AND toolkit IS NOT NULL AND label IS NOT NULL)),
        CHECK (kind = 'job' OR (token IS NULL AND consumed_at IS NULL)),
        CHECK ((consumed_at IS NULL) = (token IS NOT NULL) OR kind <> 'job')
      );
      CREATE UNIQUE INDEX clonage_boot_plans_job ON clonage_boot_plans(job_id) WHERE job_id IS NOT NULL;
    `,
  },
  {
    // SQLite cannot change a CHECK: the table is rebuilt. Nothing references it.
    id: 2,
    name: 'incomplete-disk plans',
    sql: `
      CREATE TABLE clonage_boot_plans_v2 (
        mac TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('local','menu','job','incomplete')),
        job_id TEXT,
        token TEXT,
        toolkit TEXT,
        label TEXT,
        created_at TEXT NOT NULL,
        consumed_at TEXT,
        CHECK ((kind = 'job') = (job_id IS NOT NULL AND toolkit IS NOT NULL AND label IS NOT NULL) OR kind = 'incomplete'),
        CHECK (kind <> 'incomplete' OR (job_id IS NOT NULL AND toolkit IS NULL AND label IS NULL)),
        CHECK (kind = 'job' OR (token IS NULL AND consumed_at IS NULL)),
        CHECK ((consumed_at IS NULL) = (token IS NOT NULL) OR kind <> 'job')
      );
      INSERT INTO clonage_boot_plans_v2 SELECT mac, kind, job_id, token, toolkit, label, created_at, consumed_at FROM clonage_boot_plans;
      DROP TABLE clonage_boot_plans;
      ALTER TABLE clonage_boot_plans_v2 RENAME TO clonage_boot_plans;
      CREATE UNIQUE INDEX clonage_boot_plans_job ON clonage_boot_plans(job_id) WHERE job_id IS NOT NULL;
    `,
  },
];

export interface ArmedPlan {
  readonly mac: Mac;
  readonly plan: BootPlan;
  readonly createdAt: Date;
}

interface Row {
  mac: string;
  kind: string;
  job_id: string | null;
  token: string | null;
  toolkit: string | null;
  label: string | null;
  created_at: string;
  consumed_at: string | null;
}

export class BootPlanStore {
  private readonly q: Record<
    'upsert' | 'get' | 'row' | 'consume' | 'incomplete' | 'disarm' | 'disarmJob' | 'list' | 'consumedJob' | 'purge',
    Statement
  >;

  constructor(private readonly db: Database, private readonly clock: Clock) {
    migrate(db, BOOT_MIGRATION_OWNER, MIGRATIONS);
    const cols = 'mac, kind, job_id, token, toolkit, label, created_at, consumed_at';
    this.q = {
      upsert: db.prepare(`INSERT INTO clonage_boot_plans (${cols}) VALUES (@mac, @kind, @job_id, @token, @toolkit, @label, @created_at, NULL)
        ON CONFLICT(mac) DO UPDATE SET kind = excluded.kind, job_id = excluded.job_id, token = excluded.token,
          toolkit = excluded.toolkit, label = excluded.label, created_at = excluded.created_at, consumed_at = NULL`),
      get: db.prepare(`SELECT ${cols} FROM clonage_boot_plans WHERE mac = ? AND consumed_at IS NULL`),
      row: db.prepare(`SELECT ${cols} FROM clonage_boot_plans WHERE mac = ?`),
      // One statement: two agents racing for the same job cannot both see "not consumed".
      consume: db.prepare(`UPDATE clonage_boot_plans SET consumed_at = ?, token = NULL
        WHERE mac = ? AND kind = 'job' AND job_id = ? AND consumed_at IS NULL`),
      // Only the MAC's own consumed plan of that job: a plan armed since (a new job) is kept.
      incomplete: db.prepare(`UPDATE clonage_boot_plans SET kind = 'incomplete', token = NULL, toolkit = NULL, label = NULL,
          consumed_at = NULL, created_at = ?
        WHERE mac = ? AND job_id = ? AND kind = 'job' AND consumed_at IS NOT NULL`),
      disarm: db.prepare('DELETE FROM clonage_boot_plans WHERE mac = ?'),
      disarmJob: db.prepare('DELETE FROM clonage_boot_plans WHERE job_id = ?'),
      list: db.prepare(`SELECT ${cols} FROM clonage_boot_plans WHERE consumed_at IS NULL ORDER BY mac`),
      consumedJob: db.prepare('SELECT 1 FROM clonage_boot_plans WHERE job_id = ? AND consumed_at IS NOT NULL'),
      purge: db.prepare('DELETE FROM clonage_boot_plans WHERE consumed_at IS NOT NULL AND consumed_at < ?'),
    };
  }

  /**
   * Arms a plan for a MAC, replacing whatever was there (armed or consumed). Refuses a job id
   * that was already consumed (a replayed job would run twice) or armed for another MAC.
   */
  arm(mac: Mac, plan: BootPlan): void {
    const job = plan.kind === 'job' ? plan : null;
    this.db.transaction(() => {
      if (job && this.q.consumedJob.get(job.jobId)) throw new ConflictError(`job ${job.jobId} was already consumed`);
      try {
        this.q.upsert.run({
          mac: mac.toString(),
          kind: plan.kind,
          job_id: job?.jobId ?? (plan.kind === 'incomplete' ? plan.jobId : null),
          token: job?.token ?? null,
          toolkit: job?.toolkit ?? null,
          label: job?.label ?? null,
          created_at: this.clock.now().toISOString(),
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`job ${job?.jobId} is already armed for another machine`);
        throw err;
      }
    })();
  }

  /** The armed (unconsumed) plan of a MAC, or null. */
  get(mac: Mac): BootPlan | null {
    const row = this.q.get.get(mac.toString()) as Row | undefined;
    return row ? toPlan(row) : null;
  }

  /**
   * What the MAC boots now: its armed plan; `local` right after a job was consumed (the PC
   * rebooting at the end of its job goes to its disk, never into the job again); else `menu`.
   */
  planFor(mac: Mac): BootPlan {
    const row = this.q.row.get(mac.toString()) as Row | undefined;
    if (!row) return menuPlan();
    if (row.consumed_at !== null) return localPlan();
    return toPlan(row);
  }

  /**
   * Marks the MAC's plan consumed if, and only if, it is the unconsumed plan of job `jobId`;
   * erases its token. True for exactly one caller; false when consumed already, when another
   * plan was armed since, or when there is none.
   */
  consume(mac: Mac, jobId: string): boolean {
    checkJobId(jobId);
    return this.q.consume.run(this.clock.now().toISOString(), mac.toString(), jobId).changes === 1;
  }

  /**
   * Job `jobId` (consumed by this MAC) left its disk partly written: the MAC gets the `incomplete`
   * plan instead of booting that disk. False when another plan was armed for the MAC since.
   */
  markIncomplete(mac: Mac, jobId: string): boolean {
    checkJobId(jobId);
    return this.q.incomplete.run(this.clock.now().toISOString(), mac.toString(), jobId).changes === 1;
  }

  /** Forgets the MAC's plan, armed or consumed: the MAC boots the default menu again. */
  disarm(mac: Mac): boolean {
    return this.q.disarm.run(mac.toString()).changes > 0;
  }

  /** Forgets the plan of a job wherever it is armed (cancelled job). */
  disarmJob(jobId: string): boolean {
    checkJobId(jobId);
    return this.q.disarmJob.run(jobId).changes > 0;
  }

  /** Unconsumed plans, by MAC. Job plans include their token: do not show them as they are. */
  listArmed(): ArmedPlan[] {
    return (this.q.list.all() as Row[]).map((r) => ({ mac: Mac.parse(r.mac), plan: toPlan(r), createdAt: new Date(r.created_at) }));
  }

  /** Forgets consumed plans older than `before`; those MACs boot the default menu again. */
  purgeConsumed(before: Date): number {
    return this.q.purge.run(before.toISOString()).changes;
  }
}

/** Rows are re-validated on the way out: a hand-edited database cannot inject into a boot file. */
function toPlan(r: Row): BootPlan {
  switch (r.kind) {
    case 'local':
      return localPlan();
    case 'menu':
      return menuPlan();
    case 'job':
      return jobPlan({ jobId: r.job_id, token: r.token, toolkit: r.toolkit, label: r.label });
    case 'incomplete':
      return incompletePlan(r.job_id);
    default:
      throw new Error(`clonage_boot_plans: unknown kind ${JSON.stringify(r.kind)} for ${r.mac}`);
  }
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}
