/**
 * What each admin chose last in the wizard (SE3 kept pref_clonage_* globally; a delegated admin
 * of one room should not inherit the choices of another's). A preference of the admin, kept in
 * the module's own table clonage_admin_defaults (login, key, value JSON), not a module setting:
 * the Configuration page's clone.* settings are the defaults of admins who have no choice yet.
 */
import type { Database } from 'better-sqlite3';
import type { SettingsStore } from '../../host/contract';
import { CLONE_SETTINGS } from '../../settings/clone';
import { ModuleSettings } from '../../settings/module-settings';

/** The wizard fields remembered per admin, and the clone setting each one stands for. */
const REMEMBERED = {
  domain: CLONE_SETTINGS.settings.domain,
  disk: CLONE_SETTINGS.settings.disk,
  compression: CLONE_SETTINGS.settings.compression,
  min_wait: CLONE_SETTINGS.settings.minWaitMinutes,
  max_wait: CLONE_SETTINGS.settings.maxWaitMinutes,
  start_timeout: CLONE_SETTINGS.settings.startTimeoutMinutes,
  auto_reboot: CLONE_SETTINGS.settings.autoReboot,
} as const;

/** How the earlier versions stored them: module settings `wizard.<login>.<setting key>`. */
const LEGACY_KEY = /^wizard\.(.+)\.(clone\.[A-Za-z]+)$/;

export class AdminDefaults {
  constructor(private readonly db: Database, private readonly settings: SettingsStore) {}

  /**
   * Moves preferences kept as module settings (wizard.<login>.<key>) into the table, once: the
   * table's row wins if both exist; the old setting is then removed (or emptied, when the host's
   * store cannot remove a key).
   */
  importLegacy(): number {
    const known = new Set<string>(Object.values(REMEMBERED).map((s) => s.key));
    const insert = this.db.prepare('INSERT OR IGNORE INTO clonage_admin_defaults (login, key, value) VALUES (?, ?, ?)');
    let moved = 0;
    for (const [key, value] of Object.entries(this.settings.all())) {
      const m = LEGACY_KEY.exec(key);
      if (!m) continue;
      if (known.has(m[2]) && value !== null && value !== undefined) {
        insert.run(m[1], m[2], JSON.stringify(value));
        moved += 1;
      }
      if (this.settings.delete) this.settings.delete(key);
      else this.settings.set(key, null);
    }
    return moved;
  }

  /** The module settings as this admin sees them in the wizard: their own last choice first. */
  settingsFor(login: string): ModuleSettings {
    const get = this.db.prepare('SELECT value FROM clonage_admin_defaults WHERE login = ? AND key = ?');
    const settings = this.settings;
    return new ModuleSettings({
      getOr<T>(key: string, fallback: T): T {
        const row = get.get(login, key) as { value: string } | undefined;
        return row ? (JSON.parse(row.value) as T) : settings.getOr(key, fallback);
      },
    });
  }

  /** Remembers the parameters of an action this admin just created (already validated). */
  remember(login: string, params: Readonly<Record<string, unknown>>): void {
    const put = this.db.prepare(
      'INSERT INTO clonage_admin_defaults (login, key, value) VALUES (?, ?, ?) ON CONFLICT(login, key) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => {
      for (const [field, setting] of Object.entries(REMEMBERED)) {
        const v = params[field];
        if (typeof v !== 'string' || v === '') continue;
        // The same conversion as the Configuration page's (a number field from its digits).
        try {
          put.run(login, setting.key, JSON.stringify(setting.fromForm(v.trim())));
        } catch {
          // not a value the setting accepts (the action parser accepted it under its own rules): not remembered
        }
      }
    })();
  }
}
