/**
 * Per-admin API tokens (issue 17 item 3). A token is `clo_<id>_<secret>`: the id finds the row,
 * the secret (256 random bits) is only kept as its SHA-256 and compared in constant time. It is
 * shown once, at creation. A token carries no rights of its own: it names its owner, whose
 * current rights are read again on every request (token-auth.ts).
 */
import crypto from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Clock, Logger } from '../../host/contract';
import { ForbiddenError, InputError, NotFoundError } from '../../common/domain/errors';
import { migrate } from '../../common/store/migrations';
import { msg } from '../../i18n/module-messages';

export const TOKEN_ID_PATTERN = /^[0-9a-f]{16}$/;
const TOKEN_PATTERN = /^clo_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const MAX_LABEL = 80;
/** Live tokens one admin may hold: enough for every script, bounded against a runaway loop. */
export const MAX_TOKENS_PER_OWNER = 50;

export interface ApiTokenView {
  readonly id: string;
  readonly owner: string;
  readonly label: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

interface TokenRow {
  id: string;
  owner: string;
  label: string;
  secret_hash: string;
  created_at: string;
  last_used_at: string | null;
}

function sha256(text: string): Buffer {
  return crypto.createHash('sha256').update(text).digest();
}

function viewOf(r: TokenRow): ApiTokenView {
  return { id: r.id, owner: r.owner, label: r.label, createdAt: r.created_at, lastUsedAt: r.last_used_at };
}

export class ApiTokens {
  constructor(private readonly db: Database, private readonly clock: Clock, private readonly logger: Logger) {
    // Its own migration owner: the tokens do not depend on the action tables.
    migrate(db, 'clonage.api', [
      {
        id: 1,
        name: 'api tokens',
        sql: `CREATE TABLE clonage_api_tokens (
          id TEXT PRIMARY KEY,
          owner TEXT NOT NULL,
          label TEXT NOT NULL,
          secret_hash TEXT NOT NULL,
          created_at TEXT NOT NULL,
          last_used_at TEXT,
          revoked_at TEXT,
          revoked_by TEXT
        );
        CREATE INDEX clonage_api_tokens_owner ON clonage_api_tokens(owner, revoked_at);`,
      },
    ]);
  }

  /** A new token for `owner`; the returned `token` is the only time its secret exists in clear. */
  create(owner: string, rawLabel: unknown): { readonly view: ApiTokenView; readonly token: string } {
    const label = typeof rawLabel === 'string' ? rawLabel.trim() : '';
    if (label === '' || label.length > MAX_LABEL || /[\u0000-\u001f\u007f]/.test(label)) {
      throw new InputError(`label: 1 to ${MAX_LABEL} characters`, 'label', msg('tokens.badLabel', { max: MAX_LABEL }));
    }
    if (this.list(owner).length >= MAX_TOKENS_PER_OWNER) {
      throw new InputError(`at most ${MAX_TOKENS_PER_OWNER} tokens per admin: revoke one first`, 'label', msg('tokens.tooMany', { max: MAX_TOKENS_PER_OWNER }));
    }
    const id = crypto.randomBytes(8).toString('hex');
    const secret = crypto.randomBytes(32).toString('base64url');
    const now = this.clock.now().toISOString();
    this.db
      .prepare('INSERT INTO clonage_api_tokens (id, owner, label, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, owner, label, sha256(secret).toString('hex'), now);
    this.logger.info('api token created', { tokenId: id, owner });
    return { view: { id, owner, label, createdAt: now, lastUsedAt: null }, token: `clo_${id}_${secret}` };
  }

  /** Live tokens, of one owner or (null) of everyone. */
  list(owner: string | null): ApiTokenView[] {
    const rows = (owner === null
      ? this.db.prepare('SELECT * FROM clonage_api_tokens WHERE revoked_at IS NULL ORDER BY owner, created_at').all()
      : this.db.prepare('SELECT * FROM clonage_api_tokens WHERE revoked_at IS NULL AND owner = ? ORDER BY created_at').all(owner)) as TokenRow[];
    return rows.map(viewOf);
  }

  /** Revokes a live token: its owner may, and a system admin (`anyOwner`) may revoke anyone's. */
  revoke(id: string, by: string, anyOwner: boolean): ApiTokenView {
    const row = TOKEN_ID_PATTERN.test(id)
      ? (this.db.prepare('SELECT * FROM clonage_api_tokens WHERE id = ? AND revoked_at IS NULL').get(id) as TokenRow | undefined)
      : undefined;
    if (!row) throw new NotFoundError(`no live token ${id}`, msg('tokens.missing'));
    if (row.owner !== by && !anyOwner) throw new ForbiddenError('this token is not yours', msg('tokens.notYours'));
    this.db.prepare('UPDATE clonage_api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?').run(this.clock.now().toISOString(), by, id);
    this.logger.info('api token revoked', { tokenId: id, owner: row.owner, by });
    return viewOf(row);
  }

  /** The owner of a live token, or null (unknown, malformed, revoked, wrong secret). Records its use. */
  authenticate(token: string): { readonly id: string; readonly owner: string } | null {
    const m = TOKEN_PATTERN.exec(token);
    if (!m) return null;
    const row = this.db.prepare('SELECT * FROM clonage_api_tokens WHERE id = ? AND revoked_at IS NULL').get(m[1]) as TokenRow | undefined;
    // Compared in constant time, and hashed even when the id is unknown (no timing difference).
    const expected = row ? Buffer.from(row.secret_hash, 'hex') : sha256('');
    const ok = crypto.timingSafeEqual(sha256(m[2]), expected) && row !== undefined;
    if (!ok) return null;
    this.db.prepare('UPDATE clonage_api_tokens SET last_used_at = ? WHERE id = ?').run(this.clock.now().toISOString(), row.id);
    return { id: row.id, owner: row.owner };
  }
}
