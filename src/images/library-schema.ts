import type { Database } from 'better-sqlite3';
import { migrate, type Migration } from '../common/store/migrations';

/**
 * The image library's own table, under its own migration owner (so it never collides with the
 * numbering of clonage_* migrations): images an admin protected from retention.
 */
const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'image protection from retention',
    sql: `CREATE TABLE clonage_image_protection (
      backup_id INTEGER PRIMARY KEY REFERENCES clonage_backups(id) ON DELETE CASCADE,
      protected_by TEXT NOT NULL,
      protected_at TEXT NOT NULL
    );`,
  },
];

export function migrateLibrary(db: Database): number[] {
  return migrate(db, 'clonage-library', MIGRATIONS);
}

/** Ids of protected images among `ids` (retention leaves them alone). */
export function protectedIds(db: Database): Set<number> {
  return new Set((db.prepare('SELECT backup_id AS id FROM clonage_image_protection').all() as { id: number }[]).map((r) => r.id));
}
