/**
 * Every module setting, by feature, in the order of the Configuration page. module.json
 * `settings` must hold exactly these keys with these defaults (test/unit/settings-schema.test.ts).
 */
import { ACTION_SETTINGS, CLONE_SETTINGS } from './clone';
import { MENU_SETTINGS, TFTP_SETTINGS } from './boot';
import { DEPLOY_SETTINGS } from './deploy';
import { STORAGE_SETTINGS } from './storage';
import { JOIN_SETTINGS, NETLOGON_SETTINGS, WAKE_SETTINGS } from './accounts';
import type { AnySetting, SettingsGroup } from './setting';

export const SETTINGS_GROUPS: readonly SettingsGroup[] = [
  MENU_SETTINGS, CLONE_SETTINGS, ACTION_SETTINGS, STORAGE_SETTINGS, DEPLOY_SETTINGS, WAKE_SETTINGS, NETLOGON_SETTINGS, JOIN_SETTINGS, TFTP_SETTINGS,
] as const;

export const ALL_SETTINGS: readonly AnySetting[] = SETTINGS_GROUPS.flatMap((g) => Object.values(g.settings));

/** The defaults as module.json `settings` holds them. */
export function manifestDefaults(): Record<string, unknown> {
  return Object.fromEntries(ALL_SETTINGS.map((s) => [s.key, s.default]));
}

/** The credentials kept in clear: whoever encrypts settings at rest or redacts them starts here. */
export const SECRET_KEYS: readonly string[] = ALL_SETTINGS.filter((s) => s.secret).map((s) => s.key);
