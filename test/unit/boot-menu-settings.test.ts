import { hashMenuPassword } from '../../src/boot/menu-password';
import { checkMenuSettings, MENU_SETTING_KEYS, menuSettingsFromStore, toolkitFor } from '../../src/boot/menu-settings';
import { InputError } from '../../src/common/domain/errors';
import type { SettingsStore } from '../../src/host/contract';
import { ModuleSettings } from '../../src/settings/module-settings';

const SERVER = 'http://10.77.0.1:8080/modules/clonage';

function store(values: Record<string, unknown>): SettingsStore {
  return {
    get: <T>(k: string) => values[k] as T | undefined,
    getOr: <T>(k: string, fallback: T) => (k in values ? (values[k] as T) : fallback),
    set: (k, v) => {
      values[k] = v;
    },
    all: () => ({ ...values }),
  };
}

describe('menuSettingsFromStore', () => {
  it('reads the manifest keys, with defaults', () => {
    expect(menuSettingsFromStore(new ModuleSettings(store({})), `${SERVER}/`, {})).toEqual({
      mode: 'text',
      timeoutSeconds: 8,
      maintenancePasswordHash: null,
      serverUrl: SERVER,
      installed: {},
      localBoot: 'chain',
      grubPasswordHash: null,
    });
    const hash = hashMenuPassword('secret12', 'abcdefgh', 'sha1');
    const s = menuSettingsFromStore(new ModuleSettings(store({
        [MENU_SETTING_KEYS.mode]: 'graphical',
        [MENU_SETTING_KEYS.timeoutSeconds]: 0,
        [MENU_SETTING_KEYS.maintenancePasswordHash]: hash,
        [MENU_SETTING_KEYS.localBoot]: 'localboot',
      })),
      SERVER,
      { bootenv: ['shell'] },
    );
    expect(s).toMatchObject({ mode: 'graphical', timeoutSeconds: 0, maintenancePasswordHash: hash, localBoot: 'localboot' });
    expect(MENU_SETTING_KEYS).toEqual({
      mode: 'menu.mode',
      timeoutSeconds: 'menu.timeoutSeconds',
      maintenancePasswordHash: 'menu.maintenancePasswordHash',
      grubPasswordHash: 'menu.maintenancePasswordPbkdf2',
      localBoot: 'menu.localBoot',
    });
  });

  it.each([
    [MENU_SETTING_KEYS.timeoutSeconds, '8'],
    [MENU_SETTING_KEYS.timeoutSeconds, 601],
    [MENU_SETTING_KEYS.mode, 'gfx'],
    [MENU_SETTING_KEYS.maintenancePasswordHash, 'cleartext!'],
    [MENU_SETTING_KEYS.localBoot, 'sanboot'],
  ])('refuses a stored %s of %p', (key, value) => {
    expect(() => menuSettingsFromStore(new ModuleSettings(store({ [key]: value })), SERVER, {})).toThrow(InputError);
  });
});

describe('checkMenuSettings / toolkitFor', () => {
  it('a toolkit listed with no entry is installed but offers nothing', () => {
    const s = checkMenuSettings({ mode: 'text', timeoutSeconds: 5, maintenancePasswordHash: null, serverUrl: SERVER, installed: { bootenv: [] } });
    expect(toolkitFor(s, 'shell')).toBeNull();
  });
});
