/**
 * Rows of clonage_backups: server images (location 'server', files verified by the server) and
 * images on a PC's storage partition or an SMB share (location 'partition' / 'smb', written and
 * verified by the agent; the server only checked the manifest: manifest_json.verifiedBy = 'agent'). A row is inserted only
 * once every file of the image has been verified and renamed into place: a backup that failed
 * half-way leaves no row. Deleting marks the row (status 'deleted', when, why); rows are kept as
 * history.
 */
import type { Database } from 'better-sqlite3';

export type BackupLocation = 'partition' | 'smb' | 'server';

export interface BackupRow {
  readonly id: number;
  readonly mac: string;
  readonly name: string;
  readonly image: string;
  readonly location: 'partition' | 'smb' | 'server';
  readonly status: 'succeeded' | 'failed' | 'deleted';
  readonly createdAt: string;
  readonly sizeBytes: number | null;
  readonly targetId: string | null;
  readonly deletedAt: string | null;
  readonly deletedReason: string | null;
}

type Row = Record<string, unknown>;
const SELECT = `SELECT id, mac, name, image, location, status, created_at AS createdAt, size_bytes AS sizeBytes,
  target_id AS targetId, deleted_at AS deletedAt, deleted_reason AS deletedReason FROM clonage_backups`;

const toRow = (r: Row): BackupRow => r as unknown as BackupRow;

export class BackupRecords {
  constructor(private readonly db: Database) {}

  insert(r: { mac: string; name: string; image: string; createdAt: string; sizeBytes: number; targetId: string; manifestJson: string;
    location?: BackupLocation }): number {
    const info = this.db
      .prepare(`INSERT INTO clonage_backups (mac, name, image, location, status, created_at, size_bytes, manifest_json, target_id)
        VALUES (?, ?, ?, ?, 'succeeded', ?, ?, ?, ?)`)
      .run(r.mac, r.name, r.image, r.location ?? 'server', r.createdAt, r.sizeBytes, r.manifestJson, r.targetId);
    return Number(info.lastInsertRowid);
  }

  /** Succeeded images of a MAC in one location (server by default), newest first. */
  succeeded(mac: string, location: BackupLocation = 'server'): BackupRow[] {
    return (this.db.prepare(`${SELECT} WHERE mac = ? AND location = ? AND status = 'succeeded' ORDER BY created_at DESC, id DESC`).all(mac, location) as Row[]).map(toRow);
  }

  /** The image a restore uses: the named one, or the newest. */
  forRestore(mac: string, image: string): BackupRow | null {
    return this.succeeded(mac).find((b) => image === '' || b.image === image) ?? null;
  }

  /** Every row of a MAC (all locations and statuses), newest first, for the reports page. */
  history(mac: string, limit = 200): BackupRow[] {
    return (this.db.prepare(`${SELECT} WHERE mac = ? ORDER BY created_at DESC, id DESC LIMIT ?`).all(mac, limit) as Row[]).map(toRow);
  }

  /** Succeeded backups of every machine (any location), newest first. */
  allSucceeded(limit = 500): BackupRow[] {
    return (this.db.prepare(`${SELECT} WHERE status = 'succeeded' ORDER BY created_at DESC, id DESC LIMIT ?`).all(limit) as Row[]).map(toRow);
  }

  markDeleted(id: number, at: string, reason: string): boolean {
    return this.db
      .prepare("UPDATE clonage_backups SET status = 'deleted', deleted_at = ?, deleted_reason = ? WHERE id = ? AND status = 'succeeded'")
      .run(at, reason.slice(0, 200), id).changes === 1;
  }

  manifestJson(id: number): string | null {
    const r = this.db.prepare('SELECT manifest_json AS m FROM clonage_backups WHERE id = ?').get(id) as { m: string | null } | undefined;
    return r?.m ?? null;
  }
}
