/**
 * Assembles the TFTP boot root from files installed by Debian packages:
 *   pxelinux.0 (pxelinux), ldlinux.c32 + menu modules (syslinux-common), iPXE binaries (ipxe),
 *   the Secure Boot chain (shim-signed: bootx64.efi, mmx64.efi; grub-efi-amd64-signed:
 *   grubx64.efi = the network GRUB), and toolkits/<name>/{vmlinuz,initrd.img}.
 * pxelinux.cfg/ is not written: BootFileSource renders it on each request.
 *
 * Idempotent: a file already identical is left alone; a changed one is replaced through a
 * temporary name and rename(), so a PC being served the old file keeps reading it whole.
 * Loader, modules and iPXE (a few hundred KB) are copied: a hard link would let anything writing
 * in place into the boot root modify /usr/lib. Toolkits (the module's own data, tens of MB) are
 * hard-linked when the file system allows it, else copied.
 * pxelinux.0 and the .c32 modules must come from the same syslinux build (ldlinux.c32 refuses a
 * mismatched core), hence one source folder for each, never a mix.
 */
import { constants } from 'node:fs';
import { access, copyFile, link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { checkToolkitName } from './boot-plan';

export interface BootRootSources {
  readonly pxelinuxDirs: readonly string[];
  readonly syslinuxBiosDirs: readonly string[];
  readonly ipxeDirs: readonly string[];
  /** shim-signed: shimx64.efi.signed (Microsoft-signed), mmx64.efi.signed (MokManager). */
  readonly shimDirs: readonly string[];
  /** grub-efi-amd64-signed: grubnetx64.efi.signed (Debian-signed GRUB with efinet, tftp, http built in). */
  readonly grubEfiDirs: readonly string[];
}

/** Where Debian 12/13 put them (packages pxelinux, syslinux-common, ipxe, shim-signed, grub-efi-amd64-signed). */
export const DEBIAN_BOOT_SOURCES: BootRootSources = {
  pxelinuxDirs: ['/usr/lib/PXELINUX'],
  syslinuxBiosDirs: ['/usr/lib/syslinux/modules/bios'],
  ipxeDirs: ['/usr/lib/ipxe', '/boot'],
  shimDirs: ['/usr/lib/shim'],
  grubEfiDirs: ['/usr/lib/grub/x86_64-efi-signed'],
};

/**
 * The Secure Boot chain under the names it asks for: the firmware loads the DHCP boot file
 * (shim), shim loads grubx64.efi (and mmx64.efi when a MOK request is pending) from the same
 * TFTP folder, GRUB then reads grub/grub.cfg (its prefix is /grub on the TFTP server).
 */
export const SECURE_BOOT_FILES: readonly (readonly [string, 'shimDirs' | 'grubEfiDirs', string])[] = [
  ['bootx64.efi', 'shimDirs', 'shimx64.efi.signed'],
  ['mmx64.efi', 'shimDirs', 'mmx64.efi.signed'],
  ['grubx64.efi', 'grubEfiDirs', 'grubnetx64.efi.signed'],
];

/** What the rendered configs use: the loader, its core module, both menus, chain.c32, reboot.c32 (the incomplete-disk screen) and their libraries. */
export const SYSLINUX_MODULES = ['ldlinux.c32', 'menu.c32', 'vesamenu.c32', 'libutil.c32', 'libcom32.c32', 'chain.c32', 'reboot.c32'];
/** iPXE for BIOS (chained from the PXE ROM) and UEFI (full drivers, or the firmware's NIC driver). */
const IPXE_FILES = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'];

export interface ToolkitFiles {
  readonly name: string;
  readonly kernel: string;
  /** null for a kernel that takes none (memtest86+). */
  readonly initrd: string | null;
}

export interface MissingFile {
  /** Path in the boot root. */
  readonly file: string;
  readonly required: boolean;
  readonly lookedIn: readonly string[];
}

export interface BootRootReport {
  /** Every file of every boot chain is in place (bootReadiness tells which chains are). */
  readonly ok: boolean;
  readonly written: string[];
  readonly unchanged: string[];
  /** Toolkit folders no longer listed (or whose files vanished), removed. */
  readonly removed: string[];
  readonly missing: MissingFile[];
  /** Toolkits in place, by name. */
  readonly toolkits: string[];
}

export async function assembleBootRoot(
  root: string,
  toolkits: readonly ToolkitFiles[],
  sources: BootRootSources = DEBIAN_BOOT_SOURCES,
): Promise<BootRootReport> {
  const report: BootRootReport = { ok: true, written: [], unchanged: [], removed: [], missing: [], toolkits: [] };
  await mkdir(root, { recursive: true });

  const place = async (rel: string, src: string, hardLink = false): Promise<void> => {
    (await placeFile(src, path.join(root, rel), hardLink)) ? report.written.push(rel) : report.unchanged.push(rel);
  };
  const fromDirs = async (rel: string, dirs: readonly string[], required: boolean, name = rel): Promise<void> => {
    const src = await firstExisting(dirs.map((d) => path.join(d, name)));
    if (src === null) report.missing.push({ file: rel, required, lookedIn: dirs });
    else await place(rel, src);
  };

  await fromDirs('pxelinux.0', sources.pxelinuxDirs, true);
  for (const m of SYSLINUX_MODULES) await fromDirs(m, sources.syslinuxBiosDirs, true);
  // Required too: the set-up installs them, and a UEFI PC has no other way to boot.
  for (const f of IPXE_FILES) await fromDirs(f, sources.ipxeDirs, true);
  for (const [rel, dirs, name] of SECURE_BOOT_FILES) await fromDirs(rel, sources[dirs], true, name);

  const tkRoot = path.join(root, 'toolkits');
  await mkdir(tkRoot, { recursive: true });
  const keep = new Set<string>();
  for (const tk of [...toolkits].sort((a, b) => a.name.localeCompare(b.name))) {
    const name = checkToolkitName(tk.name);
    const files: [string, string][] = [[`toolkits/${name}/vmlinuz`, tk.kernel]];
    if (tk.initrd !== null) files.push([`toolkits/${name}/initrd.img`, tk.initrd]);
    const absent = [];
    for (const [rel, src] of files) if (!(await exists(src))) absent.push({ file: rel, required: false, lookedIn: [src] });
    if (absent.length > 0) {
      // Half a toolkit cannot boot; leaving an old copy would boot a version nobody asked for.
      report.missing.push(...absent);
      continue;
    }
    await mkdir(path.join(tkRoot, name), { recursive: true });
    for (const [rel, src] of files) await place(rel, src, true);
    if (tk.initrd === null) await unlink(path.join(tkRoot, name, 'initrd.img')).catch(() => undefined);
    keep.add(name);
    report.toolkits.push(name);
  }
  for (const entry of (await readdir(tkRoot)).sort()) {
    if (keep.has(entry)) continue;
    await rm(path.join(tkRoot, entry), { recursive: true, force: true });
    report.removed.push(`toolkits/${entry}`);
  }

  const ok = !report.missing.some((m) => m.required);
  return { ...report, ok };
}

/** Puts `src` at `dest` unless it is already there. Returns true when something was written. */
async function placeFile(src: string, dest: string, hardLink: boolean): Promise<boolean> {
  if (await sameContent(src, dest)) return false;
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.tmp-${process.pid}`);
  await rm(tmp, { force: true });
  try {
    if (!hardLink) throw new Error('copy');
    await link(src, tmp);
  } catch {
    // Asked to copy, another file system (EXDEV) or fs.protected_hardlinks (EPERM).
    await copyFile(src, tmp);
  }
  await rename(tmp, dest);
  return true;
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b).catch(() => null)]);
  if (sb === null || !sb.isFile()) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  if (sa.size !== sb.size) return false;
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const size = 1 << 20;
    const ba = Buffer.alloc(size);
    const bb = Buffer.alloc(size);
    for (let pos = 0; pos < sa.size; pos += size) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, size, pos), fb.read(bb, 0, size, pos)]);
      if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

async function firstExisting(candidates: readonly string[]): Promise<string | null> {
  for (const c of candidates) if (await exists(c)) return c;
  return null;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, constants.R_OK);
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
