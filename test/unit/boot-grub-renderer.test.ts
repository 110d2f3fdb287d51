import { incompletePlan, jobPlan, localPlan, menuPlan } from '../../src/boot/boot-plan';
import { hashGrubPassword } from '../../src/boot/grub-password';
import { renderGrubForPlan, renderGrubMain } from '../../src/boot/grub-renderer';
import type { MenuSettings } from '../../src/boot/menu-settings';
import { InputError } from '../../src/common/domain/errors';
import { Mac } from '../../src/common/domain/mac';
import { expectGolden } from '../helpers/golden';

const SERVER = 'http://10.77.0.1:8080/modules/clonage';
const TOKEN = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c';
// Fixed salt so the golden files are stable; the Configuration page draws a random one.
const GRUB_HASH = hashGrubPassword('maintenance-42', '00112233445566778899AABBCCDDEEFF', 1000);
const ALL = { bootenv: ['sender', 'receiver', 'backup', 'restore', 'report', 'shell'], memtest: ['memtest'] } as const;
const MAC = Mac.parse('52:54:00:12:00:0b');

const base: MenuSettings = { mode: 'text', timeoutSeconds: 8, maintenancePasswordHash: null, grubPasswordHash: GRUB_HASH, serverUrl: SERVER, installed: ALL };
const job = jobPlan({ jobId: 'j_4f9c2a', token: TOKEN, toolkit: 'bootenv', label: 'clonage-receiver' });
const lines = (t: string) => t.split('\n');

describe('grub/grub.cfg (every UEFI PC on the Secure Boot chain reads it)', () => {
  it.each<[string, Partial<MenuSettings>]>([
    ['main-password-toolkits.cfg', {}],
    ['main-nopassword.cfg', { grubPasswordHash: null }],
    ['main-graphical-timeout0.cfg', { mode: 'graphical', timeoutSeconds: 0 }],
  ])('%s', (golden, over) => {
    expectGolden(`boot/grub/${golden}`, renderGrubMain({ ...base, ...over }));
  });

  it("hands over to the PC's own file, falls back on the menu without a MAC", () => {
    const text = renderGrubMain(base);
    expect(text).toContain('  source $prefix/mac/${net_default_mac}.cfg');
    expect(text).toContain('if [ -z "$clonage_plan" ]; then');
    expect(text).not.toMatch(/BOOTIF=/);
  });

  it('always sets superusers (no command line nor editing), the password only as a PBKDF2 hash', () => {
    for (const s of [base, { ...base, grubPasswordHash: null }]) expect(lines(renderGrubMain(s))).toContain('set superusers="maintenance"');
    const text = renderGrubMain(base);
    expect(lines(text)).toContain(`password_pbkdf2 maintenance ${GRUB_HASH}`);
    expect(text).not.toContain('maintenance-42');
    expect(renderGrubMain({ ...base, grubPasswordHash: null })).not.toContain('password_pbkdf2');
    expect(renderGrubMain({ ...base, grubPasswordHash: null })).not.toContain('submenu');
  });

  it('local disk is the default, unrestricted; Maintenance is restricted and holds the manual modes, no memtest', () => {
    const text = renderGrubMain(base);
    expect(text).toContain("menuentry 'Demarrer sur le disque local' --id local --unrestricted {");
    expect(lines(text)).toContain('  set default=local');
    expect(lines(text)).toContain('  set timeout=8');
    const sub = text.slice(text.indexOf('submenu'));
    expect(text.indexOf('submenu')).toBeGreaterThan(0);
    expect(lines(text)).toContain("  submenu 'Maintenance (mot de passe)' --id maintenance {");
    expect(sub).not.toContain('--unrestricted');
    for (const mode of ['sender', 'receiver', 'backup', 'restore', 'report', 'shell']) {
      expect(sub).toContain(`linux /toolkits/bootenv/vmlinuz clonage.server=${SERVER} clonage.manual=${mode} console=ttyS0,115200 console=tty0`);
    }
    expect(text).not.toContain('memtest');
    expect(text).not.toMatch(/clonage\.(job|token)=/);
  });

  it('local boot chainloads the Windows Boot Manager, else \\EFI\\BOOT\\BOOTX64.EFI, else exits to the firmware', () => {
    const text = renderGrubForPlan(localPlan(), MAC, base);
    expectGolden('boot/grub/plan-local.cfg', text);
    const body = lines(text).slice(lines(text).indexOf("menuentry 'Disque local' --id local --unrestricted {"));
    expect(body.filter((l) => l.includes('chainloader'))).toEqual([
      '    chainloader ($clonage_esp)/EFI/Microsoft/Boot/bootmgfw.efi',
      '    chainloader ($clonage_esp)/EFI/BOOT/BOOTX64.EFI',
    ]);
    expect(body).toContain('  exit');
    expect(lines(text)).toContain('set timeout=0');
  });
});

describe('grub/mac/<mac>.cfg', () => {
  it('menu plan: the menu, with the MAC on maintenance command lines', () => {
    const text = renderGrubForPlan(menuPlan(), MAC, base);
    expectGolden('boot/grub/plan-menu.cfg', text);
    expect(text).toContain('BOOTIF=01-52-54-00-12-00-0b');
    expect(lines(text)).toContain('set clonage_plan=menu');
  });

  it('job: boots at once, server + job + token + console + BOOTIF, over TFTP; local disk if the kernel fails', () => {
    const text = renderGrubForPlan(job, MAC, base);
    expectGolden('boot/grub/plan-job.cfg', text);
    expect(lines(text)).toContain(
      `  linux /toolkits/bootenv/vmlinuz clonage.server=${SERVER} clonage.job=j_4f9c2a clonage.token=${TOKEN} console=ttyS0,115200 console=tty0 BOOTIF=01-52-54-00-12-00-0b`,
    );
    expect(lines(text)).toContain('  initrd /toolkits/bootenv/initrd.img');
    for (const l of ['set timeout=0', 'set default=job', 'set fallback=local', 'set clonage_plan=job']) expect(lines(text)).toContain(l);
    expect(text).not.toContain('submenu');
  });

  it('incomplete disk: no local entry, says so, reboots to the network after a minute, maintenance kept', () => {
    const text = renderGrubForPlan(incompletePlan('j_4f9c2a'), MAC, base);
    expectGolden('boot/grub/plan-incomplete.cfg', text);
    expect(text).not.toMatch(/chainloader|--id local/);
    for (const l of ['set clonage_plan=incomplete', 'set timeout=60', 'set default=retry', '  reboot']) expect(lines(text)).toContain(l);
    expect(text).toContain("menuentry 'DISQUE INCOMPLET : ne pas demarrer sur ce disque'");
    expect(text).toContain("submenu 'Maintenance (mot de passe)'");
  });

  it('a job whose toolkit is not installed boots the local disk', () => {
    const text = renderGrubForPlan(job, MAC, { ...base, installed: { other: [] } });
    expectGolden('boot/grub/plan-job-toolkit-missing.cfg', text);
    expect(text).not.toContain('linux ');
    expect(text).toContain('chainloader');
  });

  it('refuses a hash that is not a GRUB PBKDF2 one (nothing can be injected in the password line)', () => {
    expect(() => renderGrubMain({ ...base, grubPasswordHash: `${GRUB_HASH}\nset superusers=""` })).toThrow(InputError);
    expect(() => renderGrubMain({ ...base, grubPasswordHash: '$6$abc$def' })).toThrow(InputError);
  });

  it('is deterministic', () => {
    expect(renderGrubForPlan(job, MAC, base)).toBe(renderGrubForPlan(job, MAC, { ...base }));
  });
});
