import type { SettingsStore } from '../../host/contract';

/** The wizard fields remembered per admin, under their clone.* setting names. */
const REMEMBERED: Record<string, string> = {
  domain: 'clone.domain',
  disk: 'clone.disk',
  compression: 'clone.compression',
  min_wait: 'clone.minWaitMinutes',
  max_wait: 'clone.maxWaitMinutes',
  start_timeout: 'clone.startTimeoutMinutes',
  auto_reboot: 'clone.autoReboot',
};

const keyOf = (login: string, setting: string) => `wizard.${login}.${setting}`;

/**
 * Settings as one admin sees them in the wizard: what they used last time, else the module-wide
 * defaults of the configuration page (SE3 kept pref_clonage_* globally; a delegated admin of one
 * room should not inherit the choices of another's).
 */
export function adminDefaults(settings: SettingsStore, login: string): { getOr<T>(key: string, fallback: T): T } {
  return {
    getOr<T>(key: string, fallback: T): T {
      const own = settings.get<T>(keyOf(login, key));
      return own === undefined || own === null ? settings.getOr(key, fallback) : own;
    },
  };
}

/** Remembers the parameters of an action this admin just created (already validated). */
export function rememberAdminDefaults(settings: SettingsStore, login: string, params: Record<string, unknown>): void {
  for (const [field, setting] of Object.entries(REMEMBERED)) {
    const v = params[field];
    if (v === undefined || v === null) continue;
    settings.set(keyOf(login, setting), setting.endsWith('Minutes') ? Number(v) : v);
  }
}
