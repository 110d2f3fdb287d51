/**
 * UEFI with Secure Boot on, end to end (issue 13): one QEMU PC with OVMF and the Microsoft keys
 * enrolled (Debian ovmf, .ms store), its NIC without iPXE ROM, so the firmware's own PXE loads
 * what the module's DHCP configuration names: shim (bootx64.efi) → the network GRUB
 * (grubx64.efi) → grub/grub.cfg → grub/mac/<mac>.cfg rendered from the PC's plan → Debian's
 * signed kernel and the boot environment. The PC's disk has an ESP whose loader prints a marker
 * and powers off, so "local boot" is seen reaching the disk's OS loader.
 *
 * Cases, on the same PC: the Maintenance menu refuses a wrong password and opens with the right
 * one (set on the Configuration page); no plan → local boot (marker); a report job scheduled from
 * the admin pages runs under Secure Boot and lockdown (its report mounted the ESP and, through
 * ntfs-3g and fuse, the NTFS partition), the agent reports "Secure Boot: on" read from the
 * SecureBoot EFI variable, the action page shows it in the PC's row.
 *
 * Run alone: `bash scripts/e2e.sh test/e2e/uefi` (root). Artifacts: test-artifacts/e2e-uefi/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { PageClient } from '../helpers/browserless-client';
import { USERS, type TestShell } from '../helpers/test-shell';
import { type Lab, makeEspDisk, startUefiLab, waitFor, type Vm } from './lib/lab';

const WORK = path.resolve(__dirname, '..', '..', 'test-artifacts', 'e2e-uefi');
const PC = { name: 's101-pc01', mac: '52:54:00:12:00:0b' };
const MARKER = 'CLONAGE-ESP-MARKER';
const PASSWORD = 'bcdefghijk'; // letters at the same place on QWERTY and AZERTY (docs/boot.md)
const M = '/modules/clonage';
const DOWN = '\x1b[B';

describe('UEFI PC with Secure Boot on: shim → network GRUB → signed kernel', () => {
  let lab: Lab;
  let shell: TestShell;
  let plans: BootPlanStore;
  let vm: Vm;
  let admin: PageClient;
  const started = Date.now();
  const tftpSince = (from: number, file: string) => shell.logLines.slice(from).some((l) => l.includes('"msg":"tftp: sent"') && l.includes(`"file":"${file}"`));
  const setMenu = async (timeout: number) => {
    const csrf = await admin.csrf(`${M}/config`);
    const r = await admin.post(`${M}/config`, { _csrf: csrf, 'menu.mode': 'text', 'menu.timeoutSeconds': String(timeout), 'menu.maintenancePasswordHash': PASSWORD });
    expect([r.status, r.text.slice(0, 300)]).toEqual([303, expect.any(String)]);
  };

  beforeAll(async () => {
    ({ lab, shell, plans } = await startUefiLab(WORK));
    const disk = path.join(WORK, `${PC.name}.img`);
    makeEspDisk(disk, 32, MARKER);
    vm = lab.addVm(PC.mac, disk, 512, 'uefi-sb');
    admin = new PageClient(shell.url.replace('0.0.0.0', '127.0.0.1'));
    expect(await admin.login(USERS.admin.login, USERS.admin.password)).toBe(303);
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    if (shell) fs.writeFileSync(path.join(WORK, 'shell.log'), shell.logLines.join('\n'));
    if (lab) fs.writeFileSync(path.join(WORK, 'dnsmasq.copy.log'), lab.dnsmasqLog());
    await shell?.stopAndClean();
    // eslint-disable-next-line no-console
    console.log(`e2e-uefi: ${Math.round((Date.now() - started) / 1000)} s`);
  });

  test('the module offers shim to x86-64 UEFI and the boot root holds the whole signed chain', () => {
    const conf = fs.readFileSync(shell.dhcp.api.configPath, 'utf8');
    expect(conf).toContain('dhcp-boot=tag:!ipxe,tag:efi-x86_64,bootx64.efi,,10.77.0.1');
    expect(shell.logLines.some((l) => l.includes('"msg":"boot service started"') && l.includes('"missing":[]'))).toBe(true);
  });

  test('the Maintenance menu refuses a wrong password and opens with the right one', async () => {
    await setMenu(60);
    try {
      await maintenanceMenu();
    } finally {
      await vm.kill();
    }
  }, 600_000);

  const maintenanceMenu = async () => {
    const from = shell.logLines.length;
    vm.start();
    await vm.waitSerial(/Maintenance \(mot de passe\)/, 180_000);
    expect(tftpSince(from, 'bootx64.efi') && tftpSince(from, 'grubx64.efi') && tftpSince(from, 'grub/grub.cfg')).toBe(true);
    expect(tftpSince(from, `grub/mac/${PC.mac}.cfg`)).toBe(true);
    const tryPassword = async (pw: string) => {
      await vm.type(DOWN);
      await new Promise((r) => setTimeout(r, 1000));
      await vm.type('\r');
      await waitFor('the user name prompt', () => (vm.serial().match(/Enter username:/g) ?? []).length > tries, 60_000);
      await vm.type('maintenance\r');
      await waitFor('the password prompt', () => (vm.serial().match(/Enter password:/g) ?? []).length > tries, 30_000);
      await vm.type(`${pw}\r`);
      tries++;
    };
    let tries = 0;
    await tryPassword('wrong-password');
    await vm.waitSerial(/[Aa]ccess denied/, 120_000);
    expect(vm.serial()).not.toContain('Clonage : emetteur');
    // GRUB redraws the menu by itself after "access denied" (the highlight back on the local disk)
    await new Promise((r) => setTimeout(r, 5000));
    await tryPassword(PASSWORD);
    await vm.waitSerial(/Clonage : emetteur/, 180_000);
    await vm.waitSerial(/Shell \(partitionnement manuel\)/, 30_000);
    expect(vm.serial()).not.toContain(PASSWORD);
  };

  test('with no plan, GRUB boots the disk: the ESP loader runs under Secure Boot', async () => {
    await setMenu(1);
    vm.start();
    await vm.waitSerial(new RegExp(MARKER), 240_000);
    expect(await vm.waitExit(60_000)).toBe(0);
    expect(plans.listArmed()).toEqual([]);
  }, 400_000);

  test('a report job from the admin pages runs under Secure Boot and lockdown; the firmware mode is reported and shown', async () => {
    const csrf = await admin.csrf(`${M}/actions/new?parc=salle101`);
    const created = await admin.post(`${M}/actions`, { _csrf: csrf, type: 'report', parc: 'salle101', machine: PC.name, disk: 'vda', auto_reboot: 'always', confirm: '1' });
    expect([created.status, created.text.slice(0, 300)]).toEqual([303, expect.any(String)]);
    const actionPath = created.location!;
    const actionId = actionPath.split('/').pop()!;
    const state = () => (shell.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(actionId) as { state: string }).state;
    await waitFor('the boot plan', () => plans.listArmed().length === 1, 40_000);

    vm.start();
    await waitFor('the action to finish', () => ['succeeded', 'failed', 'cancelled'].includes(state()), 600_000);
    expect(state()).toBe('succeeded');
    const serial = vm.serial();
    // Debian's signed kernel, verified through shim, with Secure Boot and lockdown on
    expect(serial).toMatch(/secureboot: Secure boot enabled|EFI stub: UEFI Secure Boot is enabled/);
    expect(serial).toMatch(/Kernel is locked down from EFI Secure Boot/);
    expect(serial).toMatch(/clonage\.job=j_[A-Za-z0-9_-]+/);
    // The agent read the SecureBoot EFI variable (efivarfs mounted by init) and sent it with its result.
    expect(serial).not.toMatch(/efivarfs not mounted/);
    const target = shell.db.prepare('SELECT firmware, secure_boot FROM clonage_targets WHERE action_id = ?').get(actionId);
    expect(target).toEqual({ firmware: 'uefi', secure_boot: 'on' });
    const events = shell.db.prepare("SELECT message FROM clonage_events WHERE action_id = ? AND message_key = 'event.agent.firmware'").all(actionId) as { message: string }[];
    expect(events.map((e) => e.message)).toEqual([`${PC.name}: firmware UEFI, Secure Boot: on`]);
    // Under lockdown the report mounted the ESP (vfat) and the NTFS partition (ntfs-3g, fuse).
    const report = (shell.db.prepare('SELECT content FROM clonage_reports WHERE target_id = (SELECT id FROM clonage_targets WHERE action_id = ?)').get(actionId) as { content: string }).content;
    fs.writeFileSync(path.join(WORK, 'report.txt'), report);
    expect(report).toMatch(/ vda1 vfat$/m);
    expect(report).toMatch(/ vda2 ntfs$/m);
    // the action page, in the admin's language (French): the PC's row and the event
    const page = await admin.get(actionPath);
    expect(page.text).toMatch(new RegExp(`data-name="${PC.name}">[\\s\\S]*?data-field="boot"[^>]*>démarré en UEFI, Secure Boot : activé<`));
    expect(page.text).toContain(`${PC.name} : micrologiciel UEFI, Secure Boot : on`);
  }, 900_000);
});
