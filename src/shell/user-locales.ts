import type { Database } from 'better-sqlite3';
import type { Locale } from '../host/contract';
import { isLocale } from '../common/i18n/translator';
import { SqliteSettingsStore } from './settings-store';

/**
 * The language each user chose, kept in the shell's settings table (owner `shell.user-locale`,
 * key = login) so it outlives sessions: the next login starts in the same language.
 */
export class UserLocales {
  private readonly store: SqliteSettingsStore;

  constructor(db: Database) {
    this.store = new SqliteSettingsStore(db, 'shell.user-locale', {});
  }

  get(login: string): Locale | null {
    const v = this.store.get<unknown>(login);
    return isLocale(v) ? v : null;
  }

  set(login: string, locale: Locale): void {
    this.store.set(login, locale);
  }
}
