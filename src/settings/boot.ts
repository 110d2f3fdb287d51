/** Settings of the boot menu (src/boot/) and of the TFTP server that serves it (src/tftp/). */
import { hashMenuPassword, isMenuPasswordHash } from '../boot/menu-password';
import { hashGrubPassword, isGrubPasswordHash } from '../boot/grub-password';
import { UEFI_CHAINS } from '../boot/boot-readiness';
import { bool, choice, derived, group, int, password, text } from './setting';

export const MAX_TIMEOUT_SECONDS = 600;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export const MENU_SETTINGS = group({
  id: 'menu',
  legend: 'config.menu',
  settings: {
    mode: choice('menu.mode', 'text', [{ value: 'text', label: 'config.menuMode.text' }, { value: 'graphical', label: 'config.menuMode.graphical' }],
      { label: 'config.menuMode', error: 'config.error.menuMode' }),
    /** 0 means "as short as the loader allows", never "wait forever". */
    timeoutSeconds: int('menu.timeoutSeconds', 8, 0, MAX_TIMEOUT_SECONDS, { label: 'config.menuTimeout', error: 'config.error.timeout', errorVars: { max: MAX_TIMEOUT_SECONDS } }),
    /** Only the hash is kept: the cleartext never reaches the database, a boot file or a log. Null: no Maintenance menu. */
    maintenancePasswordHash: password('menu.maintenancePasswordHash', {
      secret: false, ok: isMenuPasswordHash, fromForm: (typed) => hashMenuPassword(typed),
      // the network GRUB (UEFI) has no crypt(3): it gets its own PBKDF2 hash of the same password
      also: [{ key: 'menu.maintenancePasswordPbkdf2', fromForm: (typed) => hashGrubPassword(typed) }],
      field: { label: 'config.maintenancePassword', hint: 'config.qwertyHint', error: 'config.error.refused', maxLength: 64 },
    }),
    /** The Maintenance password for GRUB (grub.pbkdf2.sha512), set with menu.maintenancePasswordHash. */
    grubPasswordHash: derived('menu.maintenancePasswordPbkdf2', isGrubPasswordHash, 'config.maintenancePassword'),
    /** `chain`: chain.c32 hd0 (what SE3 used; works where LOCALBOOT 0 hangs). `localboot`: LOCALBOOT 0. */
    localBoot: choice('menu.localBoot', 'chain', [{ value: 'chain', label: 'settings.localBoot.chain' }, { value: 'localboot', label: 'settings.localBoot.localboot' }],
      { label: 'settings.localBoot', error: 'config.error.refused' }),
    /** iPXE clients get their plan as an HTTP script (faster than TFTP); off, they load pxelinux.0 over TFTP. */
    ipxeHttpScript: bool('boot.ipxeHttpScript', true, { label: 'settings.ipxeHttpScript' }),
    /** `secureboot`: shim → signed GRUB → signed kernel (Secure Boot on or off); `ipxe`: snponly.efi, Secure Boot off (docs/boot.md). */
    uefiChain: choice('boot.uefiChain', 'secureboot', UEFI_CHAINS.map((value) => ({ value, label: value === 'secureboot' ? 'settings.uefiChain.secureboot' as const : 'settings.uefiChain.ipxe' as const })),
      { label: 'settings.uefiChain', error: 'config.error.refused' }),
  },
});

export const TFTP_SETTINGS = group({
  id: 'tftp',
  legend: 'settings.tftp',
  hint: 'settings.restartHint',
  settings: {
    /** 0: any free port (tests). */
    port: int('tftp.port', 6969, 0, 65535, { label: 'settings.tftp.port', error: 'settings.error.port' }),
    bindAddress: text('tftp.bindAddress', '0.0.0.0', (v) => IPV4.test(v), { label: 'settings.tftp.bindAddress', error: 'settings.error.ipv4', maxLength: 15 }),
  },
});
