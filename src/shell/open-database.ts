import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

/** Opens (creating) the SQLite file with the settings every user of it relies on. */
export function openDatabase(file: string): Db {
  const db = new Database(file);
  // WAL: the web server reads while the scheduler writes; foreign keys are off by default in SQLite.
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  return db;
}
