/**
 * Login throttling, per login and per client address, kept in SQLite so a restart does not reset
 * it (issue 12: 30 wrong passwords in 0.2 s, each an LDAP bind).
 *
 * Failures are counted per key within a window; from the threshold on, every further failure
 * locks the key for a delay that doubles (30 s, 1 min, 2 min … up to 15 min). While a key is
 * locked no password is checked at all (no directory bind), even a right one. A success clears
 * the login's count; the address's count only fades with the window, so an attacker holding one
 * valid account cannot reset the count of the machine he guesses from.
 */
import type { Database } from 'better-sqlite3';
import type { Clock } from '../host/contract';
import { migrate } from '../common/store/migrations';

export interface ThrottlePolicy {
  /** Failures of one login (any address) before it is locked; default 5. */
  readonly maxFailuresPerLogin: number;
  /** Failures from one address (any login) before it is locked; default 20 (one PC, many guesses). */
  readonly maxFailuresPerAddress: number;
  /** Failures older than this are forgotten; default 15 minutes. */
  readonly windowSeconds: number;
  /** First lock; doubles with each failure past the threshold; default 30 s. */
  readonly firstLockSeconds: number;
  /** Longest lock; default 15 minutes. */
  readonly maxLockSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  maxFailuresPerLogin: 5,
  maxFailuresPerAddress: 20,
  windowSeconds: 900,
  firstLockSeconds: 30,
  maxLockSeconds: 900,
};

type Kind = 'login' | 'address';

export interface Lock {
  readonly kind: Kind;
  /** Seconds until another attempt is checked. */
  readonly retryAfterSeconds: number;
}

interface Row {
  failures: number;
  last_failure_at: number;
  locked_until: number;
}

export class LoginThrottle {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {
    migrate(db, 'shell.login-throttle', [
      {
        id: 1,
        name: 'login failures',
        sql: `CREATE TABLE shell_login_failures (kind TEXT NOT NULL, key TEXT NOT NULL, failures INTEGER NOT NULL,
              last_failure_at INTEGER NOT NULL, locked_until INTEGER NOT NULL, PRIMARY KEY (kind, key))`,
      },
    ]);
  }

  /** The lock in force for this login or this address, the longer one; null when free to try. */
  lockFor(login: string, address: string): Lock | null {
    const now = this.clock.now().getTime();
    let worst: Lock | null = null;
    for (const [kind, key] of [['login', login], ['address', address]] as const) {
      const row = this.row(kind, key);
      if (row === undefined || row.locked_until <= now) continue;
      const retryAfterSeconds = Math.ceil((row.locked_until - now) / 1000);
      if (worst === null || retryAfterSeconds > worst.retryAfterSeconds) worst = { kind, retryAfterSeconds };
    }
    return worst;
  }

  /** Counts a failed attempt; returns the lock it starts, if any. */
  failed(login: string, address: string): Lock | null {
    const now = this.clock.now().getTime();
    let started: Lock | null = null;
    this.db.transaction(() => {
      for (const [kind, key, max] of [
        ['login', login, this.policy.maxFailuresPerLogin],
        ['address', address, this.policy.maxFailuresPerAddress],
      ] as const) {
        const row = this.row(kind, key);
        const fresh = row !== undefined && now - row.last_failure_at < this.policy.windowSeconds * 1000;
        const failures = (fresh ? row.failures : 0) + 1;
        let lockedUntil = fresh ? row.locked_until : 0;
        if (failures >= max) {
          const seconds = Math.min(this.policy.firstLockSeconds * 2 ** Math.min(failures - max, 20), this.policy.maxLockSeconds);
          lockedUntil = now + seconds * 1000;
          if (started === null || seconds > started.retryAfterSeconds) started = { kind, retryAfterSeconds: seconds };
        }
        this.db
          .prepare(`INSERT INTO shell_login_failures (kind, key, failures, last_failure_at, locked_until) VALUES (?,?,?,?,?)
                    ON CONFLICT (kind, key) DO UPDATE SET failures = excluded.failures,
                    last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until`)
          .run(kind, key, failures, now, lockedUntil);
      }
      // Forgotten keys go, so a flood of random logins does not grow the table without end.
      this.db.prepare('DELETE FROM shell_login_failures WHERE last_failure_at < ? AND locked_until < ?').run(now - this.policy.windowSeconds * 1000, now);
    })();
    return started;
  }

  /** A successful login clears that login's count (not the address's). */
  succeeded(login: string): void {
    this.db.prepare("DELETE FROM shell_login_failures WHERE kind = 'login' AND key = ?").run(login);
  }

  private row(kind: Kind, key: string): Row | undefined {
    return this.db.prepare('SELECT failures, last_failure_at, locked_until FROM shell_login_failures WHERE kind = ? AND key = ?').get(kind, key) as Row | undefined;
  }
}
