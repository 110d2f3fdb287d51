import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assembleBootRoot, DEBIAN_BOOT_SOURCES, type BootRootSources } from '../../src/boot/boot-root';
import { InputError } from '../../src/common/domain/errors';
import { bootReadiness, parseUefiChain } from '../../src/boot/boot-readiness';

let dir: string;
let sources: BootRootSources;
let root: string;

function put(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'clonage-boot-root-'));
  const pxe = path.join(dir, 'src/PXELINUX');
  const bios = path.join(dir, 'src/bios');
  const ipxe = path.join(dir, 'src/ipxe');
  put(path.join(pxe, 'pxelinux.0'), 'pxelinux');
  for (const m of ['ldlinux.c32', 'menu.c32', 'vesamenu.c32', 'libutil.c32', 'libcom32.c32', 'chain.c32', 'reboot.c32', 'hdt.c32']) {
    put(path.join(bios, m), m);
  }
  put(path.join(ipxe, 'undionly.kpxe'), 'undi');
  put(path.join(ipxe, 'ipxe.efi'), 'ipxe-efi');
  put(path.join(ipxe, 'snponly.efi'), 'snponly');
  const shim = path.join(dir, 'src/shim');
  const grub = path.join(dir, 'src/grub');
  put(path.join(shim, 'shimx64.efi.signed'), 'shim');
  put(path.join(shim, 'mmx64.efi.signed'), 'mokmanager');
  put(path.join(grub, 'grubnetx64.efi.signed'), 'netgrub');
  sources = { pxelinuxDirs: [pxe], syslinuxBiosDirs: [bios], ipxeDirs: [path.join(dir, 'nowhere'), ipxe], shimDirs: [shim], grubEfiDirs: [grub] };
  root = path.join(dir, 'tftp');
  put(path.join(dir, 'tk/bootenv/vmlinuz'), 'kernel-1');
  put(path.join(dir, 'tk/bootenv/initrd.img'), 'initrd-1');
  put(path.join(dir, 'tk/memtest86+x64.bin'), 'memtest');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const bootenv = () => ({ name: 'bootenv', kernel: path.join(dir, 'tk/bootenv/vmlinuz'), initrd: path.join(dir, 'tk/bootenv/initrd.img') });
const memtest = () => ({ name: 'memtest', kernel: path.join(dir, 'tk/memtest86+x64.bin'), initrd: null });

describe('assembleBootRoot', () => {
  it('puts the loader, the modules the configs use, iPXE and the toolkits in place', async () => {
    const r = await assembleBootRoot(root, [memtest(), bootenv()], sources);
    expect(r.ok).toBe(true);
    expect(r.written).toEqual([
      'pxelinux.0',
      'ldlinux.c32',
      'menu.c32',
      'vesamenu.c32',
      'libutil.c32',
      'libcom32.c32',
      'chain.c32',
      'reboot.c32',
      'undionly.kpxe',
      'ipxe.efi',
      'snponly.efi',
      'bootx64.efi',
      'mmx64.efi',
      'grubx64.efi',
      'toolkits/bootenv/vmlinuz',
      'toolkits/bootenv/initrd.img',
      'toolkits/memtest/vmlinuz',
    ]);
    expect(r.toolkits).toEqual(['bootenv', 'memtest']);
    expect(r.missing).toEqual([]);
    expect(readFileSync(path.join(root, 'bootx64.efi'), 'utf8')).toBe('shim');
    expect(readFileSync(path.join(root, 'grubx64.efi'), 'utf8')).toBe('netgrub');
    expect(readFileSync(path.join(root, 'toolkits/bootenv/initrd.img'), 'utf8')).toBe('initrd-1');
    expect(existsSync(path.join(root, 'hdt.c32'))).toBe(false);
    expect(existsSync(path.join(root, 'pxelinux.cfg'))).toBe(false);
    // Toolkits: hard links on the same file system. System files: copies, so nothing written into
    // the boot root can ever reach /usr/lib.
    expect(statSync(path.join(root, 'toolkits/bootenv/vmlinuz')).ino).toBe(statSync(bootenv().kernel).ino);
    expect(statSync(path.join(root, 'pxelinux.0')).ino).not.toBe(statSync(path.join(sources.pxelinuxDirs[0], 'pxelinux.0')).ino);
  });

  it('is idempotent, and replaces only what changed', async () => {
    await assembleBootRoot(root, [bootenv()], sources);
    const again = await assembleBootRoot(root, [bootenv()], sources);
    expect(again.written).toEqual([]);
    expect(again.unchanged).toHaveLength(16);
    // A new package version replaces the file (new inode), as dpkg does.
    rmSync(bootenv().initrd);
    put(bootenv().initrd, 'initrd-2');
    const third = await assembleBootRoot(root, [bootenv()], sources);
    expect(third.written).toEqual(['toolkits/bootenv/initrd.img']);
    expect(readFileSync(path.join(root, 'toolkits/bootenv/initrd.img'), 'utf8')).toBe('initrd-2');
  });

  it('recognises an identical copy as unchanged', async () => {
    put(path.join(root, 'pxelinux.0'), 'pxelinux');
    const r = await assembleBootRoot(root, [], sources);
    expect(r.unchanged).toContain('pxelinux.0');
    put(path.join(root, 'menu.c32'), 'tampered');
    const r2 = await assembleBootRoot(root, [], sources);
    expect(r2.written).toEqual(['menu.c32']);
    expect(readFileSync(path.join(root, 'menu.c32'), 'utf8')).toBe('menu.c32');
  });

  it('removes toolkits no longer listed, and a stale initrd of a kernel-only toolkit', async () => {
    await assembleBootRoot(root, [bootenv(), memtest()], sources);
    put(path.join(root, 'toolkits/memtest/initrd.img'), 'stale');
    const r = await assembleBootRoot(root, [memtest()], sources);
    expect(r.removed).toEqual(['toolkits/bootenv']);
    expect(existsSync(path.join(root, 'toolkits/bootenv'))).toBe(false);
    expect(existsSync(path.join(root, 'toolkits/memtest/initrd.img'))).toBe(false);
  });

  it('a toolkit with a missing file is reported and not put in place (nor kept)', async () => {
    await assembleBootRoot(root, [bootenv()], sources);
    rmSync(bootenv().initrd);
    const r = await assembleBootRoot(root, [bootenv()], sources);
    expect(r.ok).toBe(true);
    expect(r.toolkits).toEqual([]);
    expect(r.missing).toContainEqual({ file: 'toolkits/bootenv/initrd.img', required: false, lookedIn: [bootenv().initrd] });
    expect(r.removed).toEqual(['toolkits/bootenv']);
  });

  it('reports a missing required file and is not ok', async () => {
    rmSync(path.join(sources.syslinuxBiosDirs[0], 'ldlinux.c32'));
    const r = await assembleBootRoot(root, [], sources);
    expect(r.ok).toBe(false);
    expect(r.missing[0]).toEqual({ file: 'ldlinux.c32', required: true, lookedIn: sources.syslinuxBiosDirs });
  });

  it('refuses a toolkit name that is not a folder name', async () => {
    await expect(assembleBootRoot(root, [{ ...bootenv(), name: '../x' }], sources)).rejects.toThrow(InputError);
  });

  (existsSync('/usr/lib/PXELINUX/pxelinux.0') ? it : it.skip)('works from the installed Debian packages', async () => {
    const r = await assembleBootRoot(root, [], DEBIAN_BOOT_SOURCES);
    // scripts/install-system-deps.sh installs pxelinux, syslinux-common, ipxe, shim-signed, grub-efi-amd64-signed
    expect(r.missing).toEqual([]);
    expect(r.ok).toBe(true);
    expect(bootReadiness(r, 'secureboot').modes.every((m) => m.ready)).toBe(true);
    expect(statSync(path.join(root, 'pxelinux.0')).size).toBe(statSync('/usr/lib/PXELINUX/pxelinux.0').size);
    expect(existsSync(path.join(root, 'ldlinux.c32'))).toBe(true);
  });
});

describe('bootReadiness', () => {
  it('says per firmware mode which chain is ready and which files are missing', async () => {
    rmSync(path.join(sources.shimDirs[0], 'shimx64.efi.signed'));
    const r = await assembleBootRoot(root, [bootenv()], sources);
    expect(r.ok).toBe(false);
    expect(r.missing).toEqual([{ file: 'bootx64.efi', required: true, lookedIn: sources.shimDirs }]);
    expect(bootReadiness(r, 'secureboot')).toEqual({
      modes: [
        { mode: 'bios', chain: 'pxelinux', bootFile: 'pxelinux.0', ready: true, missing: [] },
        { mode: 'uefi', chain: 'secureboot', bootFile: null, ready: false, missing: ['bootx64.efi'] },
      ],
      toolkit: true,
    });
    // the iPXE chain does not need shim
    expect(bootReadiness(r, 'ipxe').modes[1]).toEqual({ mode: 'uefi', chain: 'ipxe', bootFile: 'snponly.efi', ready: true, missing: [] });
  });

  it('is not ready before the boot root was assembled', () => {
    const r = bootReadiness(null, 'secureboot');
    expect(r.modes.map((m) => [m.mode, m.ready, m.bootFile])).toEqual([['bios', false, null], ['uefi', false, null]]);
    expect(r.toolkit).toBe(false);
    expect(() => parseUefiChain('grub')).toThrow(InputError);
    expect(parseUefiChain('ipxe')).toBe('ipxe');
  });
});
