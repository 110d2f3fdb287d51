/**
 * SQLite access for actions, targets, events and reports (tables of src/store/clonage-schema.ts).
 * Plain statements, no state of its own: every fact lives in the database, so a restarted service
 * reads exactly what the previous one wrote. Dates are ISO-8601 UTC strings, which sort as text.
 */
import type { Database, Statement } from 'better-sqlite3';
import { prepared } from '../../common/store/prepared';
import type { ActionParams, ActionRow, ActionState, EventRow, TargetRow } from './action-types';

type Row = Record<string, unknown>;

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toAction(r: Row): ActionRow {
  return {
    id: String(r.id),
    type: r.type as ActionRow['type'],
    state: r.state as ActionState,
    params: JSON.parse(String(r.params_json)) as ActionParams,
    parcs: JSON.parse(String(r.parcs_json)) as string[],
    createdBy: String(r.created_by),
    createdAt: String(r.created_at),
    startAt: String(r.start_at),
    startedAt: str(r.started_at),
    armedAt: str(r.armed_at),
    finishedAt: str(r.finished_at),
    port: num(r.port),
    scheduleId: str(r.schedule_id),
    error: str(r.error),
  };
}

function toTarget(r: Row): TargetRow {
  return {
    id: String(r.id),
    actionId: String(r.action_id),
    mac: String(r.mac),
    name: String(r.name),
    ip: String(r.ip),
    role: r.role as TargetRow['role'],
    state: r.state as ActionState,
    tokenHash: String(r.token_hash),
    stage: str(r.stage),
    percent: num(r.percent),
    bytes: num(r.bytes),
    rateKbps: num(r.rate_kbps),
    exitCode: num(r.exit_code),
    message: str(r.message),
    log: String(r.log ?? ''),
    startedAt: str(r.started_at),
    finishedAt: str(r.finished_at),
    updatedAt: String(r.updated_at),
    sessionHash: str(r.session_hash),
    fetchedFrom: str(r.fetched_from),
    smbCredentialsAt: str(r.smb_credentials_at),
    logBytes: Number(r.log_bytes ?? 0),
    firmware: r.firmware === 'uefi' || r.firmware === 'bios' ? r.firmware : null,
    secureBoot: r.secure_boot === 'on' || r.secure_boot === 'off' || r.secure_boot === 'unknown' ? r.secure_boot : null,
  };
}

function toEvent(r: Row): EventRow {
  return {
    id: Number(r.id),
    actionId: String(r.action_id),
    targetId: str(r.target_id),
    at: String(r.at),
    level: r.level as EventRow['level'],
    message: String(r.message),
    ...(typeof r.message_key === 'string' ? { ref: { key: r.message_key, vars: parseVars(r.message_vars) } } : {}),
  };
}

/** Event values as stored (a JSON object of strings and numbers); anything else reads as none. */
function parseVars(v: unknown): Record<string, string | number> {
  try {
    const o = typeof v === 'string' ? (JSON.parse(v) as unknown) : null;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return {};
    return Object.fromEntries(Object.entries(o).filter((e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number'));
  } catch {
    return {};
  }
}

export interface NewAction {
  readonly id: string;
  readonly type: ActionRow['type'];
  readonly params: ActionParams;
  readonly parcs: readonly string[];
  readonly createdBy: string;
  readonly createdAt: string;
  readonly startAt: string;
  readonly port: number | null;
  readonly scheduleId: string | null;
}

export interface NewTarget {
  readonly id: string;
  readonly mac: string;
  readonly name: string;
  readonly ip: string;
  readonly role: TargetRow['role'];
  readonly tokenHash: string;
}

/** Columns a service may change on a target (camelCase → column). */
const TARGET_COLUMNS = {
  state: 'state',
  tokenHash: 'token_hash',
  stage: 'stage',
  percent: 'percent',
  bytes: 'bytes',
  rateKbps: 'rate_kbps',
  exitCode: 'exit_code',
  message: 'message',
  log: 'log',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  updatedAt: 'updated_at',
  sessionHash: 'session_hash',
  fetchedFrom: 'fetched_from',
  smbCredentialsAt: 'smb_credentials_at',
  logBytes: 'log_bytes',
  firmware: 'firmware',
  secureBoot: 'secure_boot',
} as const;
export type TargetPatch = Partial<{ -readonly [K in keyof typeof TARGET_COLUMNS]: TargetRow[K] }>;

const ACTION_COLUMNS = {
  state: 'state',
  params: 'params_json',
  startedAt: 'started_at',
  armedAt: 'armed_at',
  finishedAt: 'finished_at',
  error: 'error',
} as const;
export type ActionPatch = Partial<{ -readonly [K in keyof typeof ACTION_COLUMNS]: ActionRow[K] }>;

export class ActionStore {
  /** Every column of a target but its log (read from the table: a new column is never forgotten). */
  private liveColumns: string | null = null;

  constructor(readonly db: Database) {}

  /**
   * Statements prepared once (issue 15: re-preparing on every call was a large part of a progress
   * post). Only fixed texts: lists go through json_each, and an update's SET clause has one text
   * per set of changed columns (a handful).
   */
  private sql(text: string): Statement {
    return prepared(this.db, text);
  }

  insert(action: NewAction, targets: readonly NewTarget[]): void {
    this
      .sql(
        `INSERT INTO clonage_actions (id, type, state, params_json, parcs_json, created_by, created_at, start_at, port, schedule_id)
         VALUES (?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(action.id, action.type, JSON.stringify(action.params), JSON.stringify(action.parcs), action.createdBy,
        action.createdAt, action.startAt, action.port, action.scheduleId);
    const ins = this.sql(
      `INSERT INTO clonage_targets (id, action_id, mac, name, ip, role, state, token_hash, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)`,
    );
    for (const t of targets) ins.run(t.id, action.id, t.mac, t.name, t.ip, t.role, t.tokenHash, action.createdAt);
  }

  action(id: string): ActionRow | null {
    const r = this.sql('SELECT * FROM clonage_actions WHERE id = ?').get(id) as Row | undefined;
    return r ? toAction(r) : null;
  }

  actionsIn(states: readonly ActionState[]): ActionRow[] {
    const rows = this
      .sql('SELECT * FROM clonage_actions WHERE state IN (SELECT value FROM json_each(?)) ORDER BY start_at, id')
      .all(JSON.stringify(states)) as Row[];
    return rows.map(toAction);
  }

  dueScheduled(nowIso: string): ActionRow[] {
    const rows = this
      .sql("SELECT * FROM clonage_actions WHERE state = 'scheduled' AND start_at <= ? ORDER BY start_at, id")
      .all(nowIso) as Row[];
    return rows.map(toAction);
  }

  targets(actionId: string): TargetRow[] {
    const rows = this.sql('SELECT * FROM clonage_targets WHERE action_id = ? ORDER BY role DESC, name').all(actionId) as Row[];
    return rows.map(toTarget);
  }

  /** The targets without their logs, in page order. */
  liveTargets(actionId: string): TargetRow[] {
    this.liveColumns ??= (this.db.pragma('table_info(clonage_targets)') as { name: string }[])
      .map((c) => (c.name === 'log' ? "'' AS log" : `"${c.name}"`)).join(', ');
    const rows = this.sql(`SELECT ${this.liveColumns} FROM clonage_targets WHERE action_id = ? ORDER BY role DESC, name`).all(actionId) as Row[];
    return rows.map(toTarget);
  }

  target(jobId: string): TargetRow | null {
    const r = this.sql('SELECT * FROM clonage_targets WHERE id = ?').get(jobId) as Row | undefined;
    return r ? toTarget(r) : null;
  }

  /** UdpCast ports held by unfinished actions (see engine/port-allocation.ts). */
  activePorts(): Set<number> {
    const rows = this
      .sql("SELECT port FROM clonage_actions WHERE port IS NOT NULL AND state NOT IN ('succeeded','failed','cancelled')")
      .all() as { port: number }[];
    return new Set(rows.map((r) => r.port));
  }

  /** Actions with a target that ended (failed, cancelled) without ever starting, since `sinceIso`: recover() disarms their plans. */
  actionsWithUnstartedEndedTargets(sinceIso: string): string[] {
    const rows = this
      .sql("SELECT action_id AS actionId FROM clonage_targets WHERE state IN ('failed','cancelled') AND started_at IS NULL AND finished_at >= ? GROUP BY action_id")
      .all(sinceIso) as { actionId: string }[];
    return rows.map((r) => r.actionId);
  }

  /** Active targets (not finished) on these MACs, to refuse a machine already busy with another action. */
  busyMacs(macs: readonly string[]): { mac: string; name: string; actionId: string }[] {
    if (macs.length === 0) return [];
    return this
      .sql(
        `SELECT mac, name, action_id AS actionId FROM clonage_targets
         WHERE mac IN (SELECT value FROM json_each(?)) AND state NOT IN ('succeeded','failed','cancelled')`,
      )
      .all(JSON.stringify(macs)) as { mac: string; name: string; actionId: string }[];
  }

  updateTarget(id: string, patch: TargetPatch): void {
    this.update('clonage_targets', TARGET_COLUMNS, id, patch);
  }

  updateAction(id: string, patch: ActionPatch): void {
    const p: Record<string, unknown> = { ...patch };
    if (patch.params) p.params = JSON.stringify(patch.params);
    this.update('clonage_actions', ACTION_COLUMNS, id, p);
  }

  appendEvent(e: Omit<EventRow, 'id'>): EventRow {
    const info = this
      .sql('INSERT INTO clonage_events (action_id, target_id, at, level, message, message_key, message_vars) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(e.actionId, e.targetId, e.at, e.level, e.message, e.ref?.key ?? null, e.ref ? JSON.stringify(e.ref.vars ?? {}) : null);
    return { ...e, id: Number(info.lastInsertRowid) };
  }

  /** Whether the action already has this event (same target and text): reports sent twice are recorded once. */
  hasEvent(actionId: string, targetId: string | null, message: string): boolean {
    return this
      .sql('SELECT 1 FROM clonage_events WHERE action_id = ? AND target_id IS ? AND message = ? LIMIT 1')
      .get(actionId, targetId, message) !== undefined;
  }

  /** The latest `limit` events, oldest first. */
  events(actionId: string, limit = 200): EventRow[] {
    const rows = this
      .sql('SELECT * FROM (SELECT * FROM clonage_events WHERE action_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id')
      .all(actionId, limit) as Row[];
    return rows.map(toEvent);
  }

  /** How many reports and events a job has left so far (the per-job caps of docs/agent-protocol.md). */
  jobVolume(targetId: string): { reports: number; reportBytes: number; events: number } {
    const r = this
      .sql('SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(CAST(content AS BLOB))), 0) AS bytes FROM clonage_reports WHERE target_id = ?')
      .get(targetId) as { n: number; bytes: number };
    const e = this.sql('SELECT COUNT(*) AS n FROM clonage_events WHERE target_id = ?').get(targetId) as { n: number };
    return { reports: r.n, reportBytes: r.bytes, events: e.n };
  }

  insertReport(r: { mac: string; name: string; targetId: string; createdAt: string; content: string }): void {
    this
      .sql('INSERT INTO clonage_reports (mac, name, target_id, created_at, content) VALUES (?, ?, ?, ?, ?)')
      .run(r.mac, r.name, r.targetId, r.createdAt, r.content);
  }

  private update(table: string, columns: Readonly<Record<string, string>>, id: string, patch: Record<string, unknown>): void {
    const keys = Object.keys(patch).filter((k) => patch[k] !== undefined);
    if (keys.length === 0) return;
    const sets = keys.map((k) => {
      const col = columns[k];
      if (!col) throw new Error(`${table}: ${k} is not an updatable column`);
      return `${col} = ?`;
    });
    this.sql(`UPDATE ${table} SET ${sets.join(', ')} WHERE id = ?`).run(...keys.map((k) => patch[k]), id);
  }
}
