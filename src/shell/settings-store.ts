import type { Database } from 'better-sqlite3';
import type { SettingsStore } from '../host/contract';
import { migrate } from '../common/store/migrations';
import { prepared } from '../common/store/prepared';
import { SecretBox } from './secret-box';

/** The settings a module marks secret (manifest `secretSettings`) and the box that seals them. */
export interface SecretSettings {
  readonly keys: ReadonlySet<string>;
  readonly box: SecretBox;
}

/**
 * Per-module JSON settings, seeded (never overwritten) from the manifest's defaults.
 *
 * Secret settings (service passwords) are sealed here, in one place, whatever the key: a
 * non-empty string is stored as `enc1:…` (secret-box.ts) and opened on read, so the module sees
 * its password and the database never holds it in clear. At construction, a secret still in
 * clear (an install from before) or sealed with a rotated-out key is sealed again.
 */
export class SqliteSettingsStore implements SettingsStore {
  constructor(
    private readonly db: Database,
    private readonly owner: string,
    defaults: Readonly<Record<string, unknown>>,
    private readonly secrets: SecretSettings | null = null,
  ) {
    migrate(db, 'shell.settings', [
      {
        id: 1,
        name: 'settings',
        sql: 'CREATE TABLE shell_settings (owner TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (owner, key))',
      },
    ]);
    const seed = db.prepare('INSERT OR IGNORE INTO shell_settings (owner, key, value) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (const [k, v] of Object.entries(defaults)) seed.run(owner, k, this.encode(k, v));
      if (secrets) for (const k of secrets.keys) this.reseal(k);
    })();
  }

  private encode(key: string, value: unknown): string {
    const v = value ?? null;
    if (this.secrets?.keys.has(key) && typeof v === 'string' && v !== '' && !SecretBox.isSealed(v)) return JSON.stringify(this.secrets.box.seal(v));
    return JSON.stringify(v);
  }

  private decode(key: string, stored: string): unknown {
    const v: unknown = JSON.parse(stored);
    return this.secrets?.keys.has(key) && SecretBox.isSealed(v) ? this.secrets.box.unseal(v) : v;
  }

  private reseal(key: string): void {
    const row = prepared(this.db, 'SELECT value FROM shell_settings WHERE owner = ? AND key = ?').get(this.owner, key) as { value: string } | undefined;
    if (!row || !this.secrets) return;
    const v: unknown = JSON.parse(row.value);
    if (typeof v !== 'string' || v === '' || (SecretBox.isSealed(v) && this.secrets.box.isCurrent(v))) return;
    this.set(key, SecretBox.isSealed(v) ? this.secrets.box.unseal(v) : v);
  }

  get<T>(key: string): T | undefined {
    const row = prepared(this.db, 'SELECT value FROM shell_settings WHERE owner = ? AND key = ?').get(this.owner, key) as { value: string } | undefined;
    return row ? (this.decode(key, row.value) as T) : undefined;
  }

  getOr<T>(key: string, fallback: T): T {
    const v = this.get<T>(key);
    return v === undefined || v === null ? fallback : v;
  }

  set(key: string, value: unknown): void {
    prepared(this.db, 'INSERT INTO shell_settings (owner, key, value) VALUES (?, ?, ?) ON CONFLICT(owner, key) DO UPDATE SET value = excluded.value').run(this.owner, key, this.encode(key, value));
  }

  delete(key: string): void {
    prepared(this.db, 'DELETE FROM shell_settings WHERE owner = ? AND key = ?').run(this.owner, key);
  }

  all(): Record<string, unknown> {
    const rows = prepared(this.db, 'SELECT key, value FROM shell_settings WHERE owner = ? ORDER BY key').all(this.owner) as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, this.decode(r.key, r.value)]));
  }
}
