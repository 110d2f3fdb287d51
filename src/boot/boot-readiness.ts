/**
 * Which firmware modes the server can boot, from the boot root's last assembly: what the
 * Configuration page shows and what the DHCP options are built from (an architecture whose
 * loader chain is incomplete gets no boot file rather than one that fails on the PC).
 */
import { InputError } from '../common/domain/errors';
import { SECURE_BOOT_FILES, SYSLINUX_MODULES, type BootRootReport } from './boot-root';

/**
 * The chain UEFI PCs are offered. `secureboot`: the firmware's own PXE loads shim (signed by
 * Microsoft), shim the network GRUB (signed by Debian), GRUB Debian's signed kernel: boots with
 * Secure Boot on or off, and has the password-protected Maintenance menu. `ipxe`: snponly.efi
 * (not signed: Secure Boot must be off) then the iPXE script over HTTP, no Maintenance menu.
 */
export type UefiChain = 'secureboot' | 'ipxe';
export const UEFI_CHAINS: readonly UefiChain[] = ['secureboot', 'ipxe'];
export const UEFI_CHAIN_SETTING = 'boot.uefiChain';

export function parseUefiChain(v: unknown): UefiChain {
  if (v === 'secureboot' || v === 'ipxe') return v;
  throw new InputError(`${UEFI_CHAIN_SETTING}: expected secureboot or ipxe`, 'uefiChain');
}

/** The DHCP boot file of each chain (a TFTP path in the boot root). */
export const BOOT_FILES = { bios: 'pxelinux.0', secureboot: 'bootx64.efi', ipxe: 'snponly.efi' } as const;

/** Files each chain needs in the boot root before its first byte is worth offering. */
export const CHAIN_FILES: Readonly<Record<'bios' | UefiChain, readonly string[]>> = {
  bios: ['pxelinux.0', ...SYSLINUX_MODULES],
  secureboot: SECURE_BOOT_FILES.map(([rel]) => rel),
  ipxe: [BOOT_FILES.ipxe],
};

export interface ModeReadiness {
  readonly mode: 'bios' | 'uefi';
  /** The loader chain this mode is offered. */
  readonly chain: 'pxelinux' | UefiChain;
  /** The boot file DHCP hands out, null when the chain is incomplete (nothing is offered). */
  readonly bootFile: string | null;
  readonly ready: boolean;
  /** Boot-root files of the chain that are missing (the package to install is in docs/boot.md). */
  readonly missing: readonly string[];
}

export interface BootReadiness {
  readonly modes: readonly ModeReadiness[];
  /** At least one toolkit is in place: without one, PCs can only boot their disk. */
  readonly toolkit: boolean;
}

export function bootReadiness(report: BootRootReport | null, uefiChain: UefiChain): BootReadiness {
  const absent = new Set((report?.missing ?? []).map((m) => m.file));
  const mode = (m: 'bios' | 'uefi', chain: 'bios' | UefiChain): ModeReadiness => {
    const missing = report === null ? [...CHAIN_FILES[chain]] : CHAIN_FILES[chain].filter((f) => absent.has(f));
    const ready = missing.length === 0;
    return { mode: m, chain: chain === 'bios' ? 'pxelinux' : chain, bootFile: ready ? BOOT_FILES[chain] : null, ready, missing };
  };
  return { modes: [mode('bios', 'bios'), mode('uefi', uefiChain)], toolkit: (report?.toolkits.length ?? 0) > 0 };
}
