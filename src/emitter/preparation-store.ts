/**
 * SQLite access to clonage_emitter_preparations (migration 3): one row per clone action whose
 * emitter is a Windows domain PC. Only SHA-256 hashes of the two tokens are kept; the cleartext
 * exists once, in the scripts placed on the share. Every fact lives here, so a restarted server
 * resumes a preparation (same tokens) and still removes scripts left behind.
 */
import type { Database } from 'better-sqlite3';
import type { ActionState } from '../actions/model/action-types';

export interface PreparationRow {
  readonly actionId: string;
  readonly emitterTargetId: string;
  readonly ackTokenHash: string;
  readonly postcloneTokenHash: string;
  readonly scriptsWrittenAt: string | null;
  readonly ackedAt: string | null;
  readonly removedAt: string | null;
  readonly failure: string | null;
}

type Row = Record<string, unknown>;
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toRow(r: Row): PreparationRow {
  return {
    actionId: String(r.action_id),
    emitterTargetId: String(r.emitter_target_id),
    ackTokenHash: String(r.ack_token_hash),
    postcloneTokenHash: String(r.postclone_token_hash),
    scriptsWrittenAt: str(r.scripts_written_at),
    ackedAt: str(r.acked_at),
    removedAt: str(r.removed_at),
    failure: str(r.failure),
  };
}

export type AckOutcome = 'acked' | 'replay' | 'not-preparing' | 'missing';

export class PreparationStore {
  constructor(readonly db: Database) {}

  get(actionId: string): PreparationRow | null {
    const r = this.db.prepare('SELECT * FROM clonage_emitter_preparations WHERE action_id = ?').get(actionId) as Row | undefined;
    return r ? toRow(r) : null;
  }

  /** The row whose post-clone token has this hash (a lookup keyed by the SHA-256 of a 256-bit secret). */
  byPostcloneHash(hash: string): PreparationRow | null {
    const r = this.db.prepare('SELECT * FROM clonage_emitter_preparations WHERE postclone_token_hash = ?').get(hash) as Row | undefined;
    return r ? toRow(r) : null;
  }

  /**
   * Fresh tokens for an action whose scripts were never written (first run, or a crash before the
   * write finished): insert, or replace the hashes of the unwritten row. Never touches a row whose
   * scripts are out there — those tokens are the only ones the emitter has.
   */
  saveFreshTokens(actionId: string, emitterTargetId: string, ackTokenHash: string, postcloneTokenHash: string): boolean {
    const info = this.db
      .prepare(
        `INSERT INTO clonage_emitter_preparations (action_id, emitter_target_id, ack_token_hash, postclone_token_hash)
         VALUES (?, ?, ?, ?)
         ON CONFLICT(action_id) DO UPDATE SET emitter_target_id = excluded.emitter_target_id,
           ack_token_hash = excluded.ack_token_hash, postclone_token_hash = excluded.postclone_token_hash,
           removed_at = NULL, failure = NULL
         WHERE clonage_emitter_preparations.scripts_written_at IS NULL`,
      )
      .run(actionId, emitterTargetId, ackTokenHash, postcloneTokenHash);
    return info.changes === 1;
  }

  markWritten(actionId: string, at: string): void {
    this.db.prepare('UPDATE clonage_emitter_preparations SET scripts_written_at = ?, removed_at = NULL WHERE action_id = ?').run(at, actionId);
  }

  /**
   * Records the acknowledgement once, only while the action is preparing: the state check (read
   * through `actionState`, same database) and the write are one IMMEDIATE transaction, so a cancel
   * or a timeout cannot slip in between.
   */
  acknowledge(actionId: string, at: string, actionState: () => ActionState | null): AckOutcome {
    return this.db
      .transaction((): AckOutcome => {
        const row = this.get(actionId);
        if (!row) return 'missing';
        if (row.ackedAt) return 'replay';
        if (actionState() !== 'preparing') return 'not-preparing';
        this.db.prepare('UPDATE clonage_emitter_preparations SET acked_at = ? WHERE action_id = ? AND acked_at IS NULL').run(at, actionId);
        return 'acked';
      })
      .immediate();
  }

  markRemoved(actionId: string, at: string): void {
    this.db.prepare('UPDATE clonage_emitter_preparations SET removed_at = ? WHERE action_id = ?').run(at, actionId);
  }

  /** Keeps the first reason: a later "cancelled" must not hide why the write failed. */
  markFailure(actionId: string, why: string): void {
    this.db
      .prepare('UPDATE clonage_emitter_preparations SET failure = COALESCE(failure, ?) WHERE action_id = ?')
      .run(why.slice(0, 500), actionId);
  }

  /**
   * Scripts not removed yet. The preparer removes those whose emitter acknowledged or whose action
   * no longer prepares (finished, or armed after the ack). Rows whose write never completed are
   * included: files of a half-finished write may be there, and removing missing files is harmless.
   */
  unremoved(): PreparationRow[] {
    const rows = this.db.prepare('SELECT * FROM clonage_emitter_preparations WHERE removed_at IS NULL').all() as Row[];
    return rows.map(toRow);
  }
}
