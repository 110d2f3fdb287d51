import crypto from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Clock, HostUser, Locale } from '../host/contract';
import { isLocale } from '../common/i18n/translator';
import { migrate } from '../common/store/migrations';
import { prepared } from '../common/store/prepared';

export interface Session {
  readonly id: string;
  readonly user: HostUser;
  readonly csrf: string;
  /** True for the configured local super-admin: holds every right without asking the directory. */
  readonly superAdmin: boolean;
  readonly expiresAt: number;
  /** The language the user chose (remembered per user), or null to follow the browser. */
  readonly locale: Locale | null;
}

const SESSION_HOURS = 10; // a school day: an admin logged in the morning is not cut off at noon

/** Server-side sessions in SQLite, so a restart of the shell does not log everyone out. */
export class SessionStore {
  constructor(private readonly db: Database, private readonly clock: Clock) {
    migrate(db, 'shell.sessions', [
      {
        id: 1,
        name: 'sessions',
        sql: `CREATE TABLE shell_sessions (id_hash TEXT PRIMARY KEY, login TEXT NOT NULL, display_name TEXT NOT NULL,
              csrf TEXT NOT NULL, super_admin INTEGER NOT NULL, expires_at INTEGER NOT NULL)`,
      },
      { id: 2, name: 'session locale', sql: 'ALTER TABLE shell_sessions ADD COLUMN locale TEXT' },
    ]);
  }

  create(user: HostUser, superAdmin: boolean, locale: Locale | null = null): Session {
    const id = randomToken();
    const csrf = randomToken();
    const expiresAt = this.clock.now().getTime() + SESSION_HOURS * 3600_000;
    this.db
      .prepare('INSERT INTO shell_sessions (id_hash, login, display_name, csrf, super_admin, expires_at, locale) VALUES (?,?,?,?,?,?,?)')
      .run(hash(id), user.login, user.displayName, csrf, superAdmin ? 1 : 0, expiresAt, locale);
    this.purgeExpired();
    return { id, user, csrf, superAdmin, expiresAt, locale };
  }

  get(id: string | undefined): Session | null {
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const row = prepared(this.db, 'SELECT * FROM shell_sessions WHERE id_hash = ?').get(hash(id)) as
      | { login: string; display_name: string; csrf: string; super_admin: number; expires_at: number; locale: string | null }
      | undefined;
    if (!row || row.expires_at <= this.clock.now().getTime()) return null;
    return {
      id,
      user: { login: row.login, displayName: row.display_name },
      csrf: row.csrf,
      superAdmin: row.super_admin === 1,
      expiresAt: row.expires_at,
      locale: isLocale(row.locale) ? row.locale : null,
    };
  }

  setLocale(id: string, locale: Locale): void {
    this.db.prepare('UPDATE shell_sessions SET locale = ? WHERE id_hash = ?').run(locale, hash(id));
  }

  destroy(id: string | undefined): void {
    if (id) this.db.prepare('DELETE FROM shell_sessions WHERE id_hash = ?').run(hash(id));
  }

  private purgeExpired(): void {
    this.db.prepare('DELETE FROM shell_sessions WHERE expires_at <= ?').run(this.clock.now().getTime());
  }
}

export function randomToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Only a hash of the session id is stored: a copy of the database does not hand out live sessions. */
function hash(id: string): string {
  return crypto.createHash('sha256').update(id).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}
