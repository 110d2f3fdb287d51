import { incompletePlan, jobPlan, localPlan, menuPlan } from '../../src/boot/boot-plan';
import { renderIpxeForPlan, renderIpxeMenu } from '../../src/boot/ipxe-renderer';
import { hashMenuPassword } from '../../src/boot/menu-password';
import type { MenuSettings } from '../../src/boot/menu-settings';
import { renderPxelinuxDefault, renderPxelinuxForPlan, timeoutTenths } from '../../src/boot/pxelinux-renderer';
import { InputError } from '../../src/common/domain/errors';
import { expectGolden } from '../helpers/golden';

const SERVER = 'http://10.77.0.1:8080/modules/clonage';
const TOKEN = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c';
// Fixed salt so the golden files are stable; the real page draws a random one.
const HASH = hashMenuPassword('maintenance-42', 'goldenSalt');
const ALL = { bootenv: ['sender', 'receiver', 'backup', 'restore', 'report', 'shell'], memtest: ['memtest'] } as const;

const base: MenuSettings = { mode: 'text', timeoutSeconds: 8, maintenancePasswordHash: HASH, serverUrl: SERVER, installed: ALL };
const job = jobPlan({ jobId: 'j_4f9c2a', token: TOKEN, toolkit: 'bootenv', label: 'clonage-receiver' });
const incomplete = incompletePlan('j_4f9c2a');

describe('pxelinux.cfg/default', () => {
  it.each<[string, Partial<MenuSettings>]>([
    ['default-text-password-toolkits.cfg', {}],
    ['default-graphical-password-toolkits.cfg', { mode: 'graphical', timeoutSeconds: 15 }],
    ['default-text-nopassword.cfg', { maintenancePasswordHash: null }],
    ['default-text-password-notoolkits.cfg', { installed: {} }],
    ['default-text-partial-toolkits.cfg', { installed: { bootenv: ['sender', 'receiver'], spare: [] } }],
    ['default-timeout0-localboot.cfg', { timeoutSeconds: 0, localBoot: 'localboot' }],
  ])('%s', (golden, over) => {
    expectGolden(`boot/pxelinux/${golden}`, renderPxelinuxDefault({ ...base, ...over }));
  });

  it('protects the maintenance entries with MENU PASSWD and never the cleartext', () => {
    const text = renderPxelinuxDefault(base);
    expect(text).not.toContain('maintenance-42');
    const begin = text.indexOf('MENU BEGIN maintenance');
    const passwd = text.indexOf(`MENU PASSWD ${HASH}`);
    const firstLabel = text.indexOf('LABEL maint-');
    expect(begin).toBeGreaterThan(0);
    // MENU PASSWD before any LABEL of the sub-menu protects the sub-menu entry itself.
    expect(passwd).toBeGreaterThan(begin);
    expect(passwd).toBeLessThan(firstLabel);
    expect(text).toMatch(/^PROMPT 0$/m);
    expect(text).toMatch(/^NOESCAPE 1$/m);
    expect(text).toMatch(/^ALLOWOPTIONS 0$/m);
    expect(text).toMatch(/^ONTIMEOUT local$/m);
  });

  it('maintenance entries boot in manual mode: server and mode, no job, no token', () => {
    const text = renderPxelinuxDefault(base);
    const appends = text.split('\n').filter((l) => l.trim().startsWith('APPEND clonage.'));
    expect(appends).toHaveLength(6);
    for (const mode of ['sender', 'receiver', 'backup', 'restore', 'report', 'shell']) {
      expect(appends).toContain(`    APPEND clonage.server=${SERVER} clonage.manual=${mode} console=ttyS0,115200 console=tty0`);
    }
    expect(text).not.toMatch(/clonage\.(job|token)=/);
  });

  it('picks the UI module from the mode', () => {
    expect(renderPxelinuxDefault(base)).toMatch(/^UI menu\.c32$/m);
    expect(renderPxelinuxDefault({ ...base, mode: 'graphical' })).toMatch(/^UI vesamenu\.c32$/m);
  });

  it('converts seconds to tenths, 0 to the shortest delay (pxelinux reads 0 as "for ever")', () => {
    expect(timeoutTenths(8)).toBe(80);
    expect(timeoutTenths(600)).toBe(6000);
    expect(timeoutTenths(0)).toBe(1);
    expect(renderPxelinuxDefault({ ...base, timeoutSeconds: 0 })).toMatch(/^TIMEOUT 1$/m);
  });

  it.each<[string, Partial<MenuSettings>]>([
    ['timeout above 600', { timeoutSeconds: 601 }],
    ['negative timeout', { timeoutSeconds: -1 }],
    ['fractional timeout', { timeoutSeconds: 1.5 }],
    ['cleartext password', { maintenancePasswordHash: 'maintenance-42' }],
    ['hash with a newline', { maintenancePasswordHash: `${HASH}\nLABEL evil` }],
    ['server URL with a space', { serverUrl: 'http://10.0.0.1/x y' }],
    ['unknown mode', { mode: 'fancy' as 'text' }],
    ['bad toolkit name', { installed: { '../etc': ['shell'] } }],
    ['unknown entry', { installed: { bootenv: ['format-c'] as never } }],
  ])('refuses settings with %s', (_why, over) => {
    expect(() => renderPxelinuxDefault({ ...base, ...over })).toThrow(InputError);
  });
});

describe('pxelinux per-MAC files', () => {
  it.each<[string, Parameters<typeof renderPxelinuxForPlan>[0], Partial<MenuSettings>]>([
    ['plan-local.cfg', localPlan(), {}],
    ['plan-local-localboot.cfg', localPlan(), { localBoot: 'localboot' }],
    ['plan-job.cfg', job, {}],
    ['plan-job-toolkit-missing.cfg', job, { installed: { memtest: ['memtest'] } }],
    ['plan-incomplete.cfg', incomplete, {}],
  ])('%s', (golden, plan, over) => {
    expectGolden(`boot/pxelinux/${golden}`, renderPxelinuxForPlan(plan, { ...base, ...over }));
  });

  it('incomplete disk: no way to the local disk; says so; reboots to the network after a minute; maintenance behind its password', () => {
    const text = renderPxelinuxForPlan(incomplete, base);
    expect(text).not.toMatch(/LOCALBOOT|chain\.c32|^LABEL local/m);
    expect(text).toMatch(/^MENU TITLE DISQUE INCOMPLET/m);
    expect(text).toMatch(/^ONTIMEOUT retry$/m);
    expect(text).toMatch(/^TIMEOUT 600$/m);
    expect(text).toContain('  COM32 reboot.c32\n');
    expect(text).toContain(`MENU PASSWD ${HASH}`);
    expect(text).toMatch(/Relancer les postes en echec/);
    expect(text).not.toMatch(/[^\x20-\x7e\n]/);
  });

  it('menu plan = the default menu', () => {
    expect(renderPxelinuxForPlan(menuPlan(), base)).toBe(renderPxelinuxDefault(base));
  });

  it('a job boots at once with only server, job, token and console arguments, plus IPAPPEND 2', () => {
    const text = renderPxelinuxForPlan(job, base);
    expect(text).toContain(
      `  APPEND clonage.server=${SERVER} clonage.job=j_4f9c2a clonage.token=${TOKEN} console=ttyS0,115200 console=tty0\n`,
    );
    expect(text).toContain('  IPAPPEND 2\n');
    expect(text).toMatch(/^TIMEOUT 0$/m);
    expect(text).toMatch(/^PROMPT 0$/m);
    expect(text).toMatch(/^DEFAULT clonage-receiver$/m);
    const directives = text.split('\n').filter((l) => !l.startsWith('#'));
    expect(directives.join('\n')).not.toMatch(/passw|MENU/i);
  });
});

describe('iPXE scripts', () => {
  it.each<[string, () => string]>([
    ['menu.ipxe', () => renderIpxeMenu(base)],
    ['menu-no-memtest.ipxe', () => renderIpxeMenu({ ...base, installed: { bootenv: ALL.bootenv } })],
    ['menu-timeout0.ipxe', () => renderIpxeMenu({ ...base, timeoutSeconds: 0 })],
    ['plan-local.ipxe', () => renderIpxeForPlan(localPlan(), base)],
    ['plan-job.ipxe', () => renderIpxeForPlan(job, base)],
    ['plan-job-toolkit-missing.ipxe', () => renderIpxeForPlan(job, { ...base, installed: {} })],
    ['plan-incomplete.ipxe', () => renderIpxeForPlan(incomplete, base)],
  ])('%s', (golden, render) => {
    expectGolden(`boot/ipxe/${golden}`, render());
  });

  it('menu plan = the menu script; every script starts with #!ipxe', () => {
    expect(renderIpxeForPlan(menuPlan(), base)).toBe(renderIpxeMenu(base));
    for (const s of [renderIpxeMenu(base), renderIpxeForPlan(localPlan(), base), renderIpxeForPlan(job, base)]) {
      expect(s.startsWith('#!ipxe\n')).toBe(true);
    }
  });

  it('incomplete disk: never the local disk; says so, then fetches its own script again (a job armed meanwhile runs)', () => {
    const s = renderIpxeForPlan(incomplete, base);
    expect(s).not.toMatch(/sanboot|exit/);
    expect(s).toContain('echo DISQUE INCOMPLET');
    expect(s).toContain(`chain --replace --autofree ${SERVER}/boot/ipxe?mac=\${net0/mac} || goto screen\n`);
    expect(s).toMatch(/^prompt --timeout 60000 /m);
    expect(s).not.toMatch(/[^\x20-\x7e\n]/);
  });

  it('job: kernel and initrd by URL, the same arguments as pxelinux plus BOOTIF', () => {
    const s = renderIpxeForPlan(job, base);
    expect(s).toContain(`kernel --name vmlinuz ${SERVER}/boot/files/bootenv/vmlinuz || goto failed\n`);
    expect(s).toContain(`initrd --name initrd.img ${SERVER}/boot/files/bootenv/initrd.img || goto failed\n`);
    expect(s).toContain(
      `imgargs vmlinuz initrd=initrd.img clonage.server=${SERVER} clonage.job=j_4f9c2a clonage.token=${TOKEN} console=ttyS0,115200 console=tty0 BOOTIF=01-\${netX/mac:hexhyp}\n`,
    );
  });

  it('offers no maintenance entry and no password hash (iPXE cannot check one safely)', () => {
    const s = renderIpxeMenu(base);
    expect(s).not.toContain(HASH);
    expect(s).not.toMatch(/clonage\.manual|login|password/);
  });
});

describe('renderers are deterministic', () => {
  it('same inputs, same bytes', () => {
    expect(renderPxelinuxDefault(base)).toBe(renderPxelinuxDefault({ ...base, installed: { memtest: ['memtest'], bootenv: [...ALL.bootenv] } }));
    expect(renderIpxeForPlan(job, base)).toBe(renderIpxeForPlan(job, base));
  });

  it('two toolkits offering the same entry: the first by name wins', () => {
    const text = renderPxelinuxDefault({ ...base, installed: { zeta: ['shell'], alpha: ['shell'] } });
    expect(text).toContain('LINUX toolkits/alpha/vmlinuz');
    expect(text).not.toContain('toolkits/zeta/');
  });
});
