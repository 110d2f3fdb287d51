import type { Database } from 'better-sqlite3';
import type { SettingsStore } from '../host/contract';
import { migrate } from '../common/store/migrations';

/** Per-module JSON settings, seeded (never overwritten) from the manifest's defaults. */
export class SqliteSettingsStore implements SettingsStore {
  constructor(private readonly db: Database, private readonly owner: string, defaults: Readonly<Record<string, unknown>>) {
    migrate(db, 'shell.settings', [
      {
        id: 1,
        name: 'settings',
        sql: 'CREATE TABLE shell_settings (owner TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (owner, key))',
      },
    ]);
    const seed = db.prepare('INSERT OR IGNORE INTO shell_settings (owner, key, value) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (const [k, v] of Object.entries(defaults)) seed.run(owner, k, JSON.stringify(v));
    })();
  }

  get<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM shell_settings WHERE owner = ? AND key = ?').get(this.owner, key) as
      | { value: string }
      | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  getOr<T>(key: string, fallback: T): T {
    const v = this.get<T>(key);
    return v === undefined || v === null ? fallback : v;
  }

  set(key: string, value: unknown): void {
    this.db
      .prepare('INSERT INTO shell_settings (owner, key, value) VALUES (?, ?, ?) ON CONFLICT(owner, key) DO UPDATE SET value = excluded.value')
      .run(this.owner, key, JSON.stringify(value ?? null));
  }

  all(): Record<string, unknown> {
    const rows = this.db.prepare('SELECT key, value FROM shell_settings WHERE owner = ? ORDER BY key').all(this.owner) as {
      key: string;
      value: string;
    }[];
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }
}
