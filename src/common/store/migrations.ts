import type { Database } from 'better-sqlite3';

export interface Migration {
  /** Strictly increasing per owner; never renumber a released migration. */
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Applies the owner's pending migrations in order, each in its own transaction, and records them.
 * The shell and every module share one database file; `owner` keeps their histories apart.
 */
export function migrate(db: Database, owner: string, migrations: readonly Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    owner TEXT NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (owner, id))`);
  const done = new Set(
    (db.prepare('SELECT id FROM schema_migrations WHERE owner = ?').all(owner) as { id: number }[]).map((r) => r.id),
  );
  const sorted = [...migrations].sort((a, b) => a.id - b.id);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].id === sorted[i - 1].id) throw new Error(`duplicate migration id ${sorted[i].id} for ${owner}`);
  }
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (owner, id, name, applied_at) VALUES (?, ?, ?, ?)');
  for (const m of sorted) {
    if (done.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(owner, m.id, m.name, new Date().toISOString());
    })();
    applied.push(m.id);
  }
  return applied;
}
