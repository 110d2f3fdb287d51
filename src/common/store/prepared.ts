import type { Database, Statement } from 'better-sqlite3';

const byDb = new WeakMap<Database, Map<string, Statement>>();

/**
 * The statement for `sql`, prepared once per database: better-sqlite3 compiles on every
 * `prepare()`, which costs more than running a small query. For the queries of every request
 * (sessions, settings, reservations). `sql` must be a constant of the caller's, never input.
 */
export function prepared(db: Database, sql: string): Statement {
  let statements = byDb.get(db);
  if (!statements) byDb.set(db, (statements = new Map()));
  let s = statements.get(sql);
  if (!s) statements.set(sql, (s = db.prepare(sql)));
  return s;
}
