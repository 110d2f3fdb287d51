/**
 * What the boot renderers need besides a plan: the admin's menu choices, the server URL as PCs
 * reach it, and which toolkits are installed (so the menu never offers an entry that cannot boot).
 */
import { InputError } from '../common/domain/errors';
import { MAX_TIMEOUT_SECONDS, MENU_SETTINGS } from '../settings/boot';
import type { ModuleSettings } from '../settings/module-settings';
import { checkServerUrl, checkToolkitName } from './boot-plan';
import { MANUAL_MODES, type ManualMode } from './kernel-args';
import { isGrubPasswordHash } from './grub-password';
import { isMenuPasswordHash } from './menu-password';

export type MaintenanceEntry = ManualMode | 'memtest';
/** Display order of the Maintenance sub-menu. */
export const MAINTENANCE_ENTRIES: readonly MaintenanceEntry[] = [...MANUAL_MODES, 'memtest'];

/** `chain`: chain.c32 hd0 (what SE3 used; works where LOCALBOOT 0 hangs). `localboot`: LOCALBOOT 0. */
export type LocalBootMethod = 'chain' | 'localboot';

export interface MenuSettings {
  readonly mode: 'text' | 'graphical';
  /** 0..600. 0 means "as short as the loader allows", never "wait forever". */
  readonly timeoutSeconds: number;
  /** A hash as MENU PASSWD accepts it ($4$/$5$/$6$/$1$), or null: no Maintenance menu at all. */
  readonly maintenancePasswordHash: string | null;
  /** Module base URL as PCs reach it, e.g. http://10.0.0.1:8080/modules/clonage. */
  readonly serverUrl: string;
  /**
   * Installed toolkit name → maintenance entries it can boot. A toolkit listed with no entry is
   * still installed (job plans may use it). A toolkit offering 'memtest' has the memtest86+
   * binary as its kernel and no initrd.
   */
  readonly installed: Readonly<Record<string, readonly MaintenanceEntry[]>>;
  /** Default 'chain'. */
  readonly localBoot?: LocalBootMethod;
  /**
   * The same password for the network GRUB (UEFI), grub.pbkdf2.sha512.… (grub-password.ts), or
   * null: no Maintenance menu on UEFI (a password set before this hash existed must be set again).
   */
  readonly grubPasswordHash?: string | null;
}

/** Keys in the module settings (declared in src/settings/boot.ts). */
export const MENU_SETTING_KEYS = {
  mode: MENU_SETTINGS.settings.mode.key,
  timeoutSeconds: MENU_SETTINGS.settings.timeoutSeconds.key,
  maintenancePasswordHash: MENU_SETTINGS.settings.maintenancePasswordHash.key,
  localBoot: MENU_SETTINGS.settings.localBoot.key,
  grubPasswordHash: MENU_SETTINGS.settings.grubPasswordHash.key,
} as const;

export { MAX_TIMEOUT_SECONDS };

/** Validates every field; renderers call it so a bad value can never reach a boot file. */
export function checkMenuSettings(s: MenuSettings): MenuSettings {
  if (s.mode !== 'text' && s.mode !== 'graphical') throw new InputError('mode: expected text or graphical', 'mode');
  if (!Number.isInteger(s.timeoutSeconds) || s.timeoutSeconds < 0 || s.timeoutSeconds > MAX_TIMEOUT_SECONDS) {
    throw new InputError(`timeoutSeconds: expected an integer from 0 to ${MAX_TIMEOUT_SECONDS}`, 'timeoutSeconds');
  }
  const hash = s.maintenancePasswordHash;
  if (hash !== null && !isMenuPasswordHash(hash)) {
    throw new InputError('maintenancePasswordHash: not a $1$/$4$/$5$/$6$ hash', 'maintenancePasswordHash');
  }
  const localBoot = s.localBoot ?? 'chain';
  if (localBoot !== 'chain' && localBoot !== 'localboot') throw new InputError('localBoot: expected chain or localboot', 'localBoot');
  const installed: Record<string, readonly MaintenanceEntry[]> = {};
  for (const [name, entries] of Object.entries(s.installed)) {
    checkToolkitName(name);
    for (const e of entries) {
      if (!MAINTENANCE_ENTRIES.includes(e)) throw new InputError(`installed.${name}: unknown entry ${String(e)}`, 'installed');
    }
    installed[name] = [...entries];
  }
  const grubHash = s.grubPasswordHash ?? null;
  if (grubHash !== null && !isGrubPasswordHash(grubHash)) {
    throw new InputError('grubPasswordHash: not a grub.pbkdf2.sha512 hash', 'grubPasswordHash');
  }
  return { mode: s.mode, timeoutSeconds: s.timeoutSeconds, maintenancePasswordHash: hash, serverUrl: checkServerUrl(s.serverUrl), installed, localBoot, grubPasswordHash: grubHash };
}

/**
 * The menu settings as renderers take them. `serverUrl` comes from the host (publicBaseUrl +
 * mountPath) and `installed` from the toolkit registry, not from settings. Throws InputError on a
 * stored value the config page should never have accepted.
 */
export function menuSettingsFromStore(settings: ModuleSettings, serverUrl: string, installed: MenuSettings['installed']): MenuSettings {
  const m = settings.menu();
  return checkMenuSettings({
    mode: m.mode, timeoutSeconds: m.timeoutSeconds, maintenancePasswordHash: m.maintenancePasswordHash, localBoot: m.localBoot,
    grubPasswordHash: m.grubPasswordHash, serverUrl, installed,
  });
}

/**
 * The toolkit that provides an entry: the first by name, so the choice is deterministic when two
 * toolkits provide the same entry.
 */
export function toolkitFor(settings: MenuSettings, entry: MaintenanceEntry): string | null {
  const names = Object.keys(settings.installed).sort();
  return names.find((n) => settings.installed[n].includes(entry)) ?? null;
}

export function isInstalled(settings: MenuSettings, toolkit: string): boolean {
  return Object.prototype.hasOwnProperty.call(settings.installed, toolkit);
}
