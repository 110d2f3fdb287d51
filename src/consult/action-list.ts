import type { Database } from 'better-sqlite3';
import { InputError } from '../common/domain/errors';

export interface ActionListFilter {
  readonly type?: string;
  readonly state?: 'pending' | 'running' | 'finished';
  readonly parc?: string;
  readonly machine?: string;
  /** YYYY-MM-DD, inclusive, on the creation date. */
  readonly from?: string;
  readonly to?: string;
}

export interface ActionListRow {
  readonly id: string;
  readonly type: string;
  readonly state: string;
  readonly parcs: string[];
  readonly machines: string[];
  readonly created_by: string;
  readonly created_at: string;
  readonly start_at: string;
  readonly finished_at: string | null;
  readonly targets: number;
  readonly succeeded: number;
  readonly failed: number;
}

const STATE_GROUPS: Record<NonNullable<ActionListFilter['state']>, string[]> = {
  pending: ['scheduled', 'preparing', 'armed'],
  running: ['running'],
  finished: ['succeeded', 'failed', 'cancelled'],
};

/** Reads the consult page's query string into a validated filter (unknown values are refused). */
export function parseActionListFilter(q: Record<string, unknown>): ActionListFilter {
  const str = (k: string, re: RegExp): string | undefined => {
    const v = q[k];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string' || !re.test(v)) throw new InputError(`${k}: invalid filter value`, k);
    return v;
  };
  return {
    type: str('type', /^(clone|backup|restore|report|memtest|deploy)$/),
    state: str('state', /^(pending|running|finished)$/) as ActionListFilter['state'],
    parc: str('parc', /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/),
    machine: str('machine', /^[A-Za-z0-9-]{1,15}$/),
    from: str('from', /^\d{4}-\d{2}-\d{2}$/),
    to: str('to', /^\d{4}-\d{2}-\d{2}$/),
  };
}

/**
 * The actions a user may see: those whose parcs are all delegated to them (the same rule as
 * opening one), filtered. Bounded: the newest 200 matches.
 */
export function listActions(db: Database, allowed: 'all' | readonly string[], f: ActionListFilter): ActionListRow[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.type) (where.push('a.type = ?'), args.push(f.type));
  if (f.state) where.push(`a.state IN (${STATE_GROUPS[f.state].map((s) => `'${s}'`).join(',')})`);
  if (f.parc) (where.push('EXISTS (SELECT 1 FROM json_each(a.parcs_json) WHERE value = ?)'), args.push(f.parc));
  if (f.machine) (where.push('EXISTS (SELECT 1 FROM clonage_targets t WHERE t.action_id = a.id AND t.name = ?)'), args.push(f.machine.toLowerCase()));
  if (f.from) (where.push('a.created_at >= ?'), args.push(`${f.from}T00:00:00`));
  if (f.to) (where.push('a.created_at <= ?'), args.push(`${f.to}T23:59:59.999Z`));
  const rows = db
    .prepare(
      `SELECT a.id, a.type, a.state, a.parcs_json, a.created_by, a.created_at, a.start_at, a.finished_at,
              (SELECT group_concat(t.name, ' ') FROM clonage_targets t WHERE t.action_id = a.id) AS machines,
              (SELECT COUNT(*) FROM clonage_targets t WHERE t.action_id = a.id) AS targets,
              (SELECT COUNT(*) FROM clonage_targets t WHERE t.action_id = a.id AND t.state = 'succeeded') AS succeeded,
              (SELECT COUNT(*) FROM clonage_targets t WHERE t.action_id = a.id AND t.state = 'failed') AS failed
       FROM clonage_actions a ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY a.created_at DESC LIMIT 2000`,
    )
    .all(...args) as (Omit<ActionListRow, 'parcs' | 'machines'> & { parcs_json: string; machines: string | null })[];
  const out: ActionListRow[] = [];
  for (const r of rows) {
    const parcs = JSON.parse(r.parcs_json) as string[];
    if (allowed !== 'all' && !parcs.every((p) => allowed.includes(p))) continue;
    const { parcs_json: _p, machines, ...rest } = r;
    out.push({ ...rest, parcs, machines: (machines ?? '').split(' ').filter(Boolean).sort() });
    if (out.length === 200) break;
  }
  return out;
}
