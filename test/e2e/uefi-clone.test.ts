/**
 * UEFI PCs cloned, backed up and restored end to end (issue 13, item 6): three QEMU PCs with OVMF
 * (Debian ovmf, the .ms variable store with the Microsoft keys enrolled), their NICs without iPXE
 * ROM (`romfile=`), so the firmware's own PXE loads what the module's DHCP configuration names.
 *
 * 1. Secure Boot on, `boot.uefiChain=secureboot` (shim → network GRUB → Debian's signed kernel):
 *    a clone pc01 → pc02 + pc03 scheduled from the admin pages, byte-identical (but the NTFS backup
 *    boot sector, see differsFromOriginal); every PC reports "Secure Boot: on" (the SecureBoot EFI
 *    variable), shown in its row of the action page. The clone runs udpcast and partclone under
 *    lockdown.
 * 2. No plan: the receiver boots its (cloned) disk: GRUB chainloads the ESP's loader (marker).
 * 3. Secure Boot on: backup of pc01 to an SMB share (a real smbd) through the wizard, the disk
 *    wiped, restore from the share: partclone (FAT, NTFS) and the kernel's CIFS client under
 *    lockdown; the disk comes back byte-identical (but the NTFS backup boot sector, see below).
 * 4. Secure Boot off, `boot.uefiChain=ipxe` (switched on the Configuration page, so dnsmasq is
 *    restarted with the new boot file): firmware PXE → snponly.efi → the iPXE script over HTTP →
 *    kernel and initrd over HTTP; a clone pc02 → pc03, byte-identical, "Secure Boot: off".
 * 5. No plan on the iPXE chain: the PC boots its disk (iPXE `exit` → the firmware's next entry).
 * BIOS PCs are pxe-clone.test.ts; the GRUB Maintenance password and a report job under Secure
 * Boot are uefi.test.ts.
 *
 * Run alone: `bash scripts/e2e.sh test/e2e/uefi-clone` (root). Artifacts: test-artifacts/e2e-uefi-clone/.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { Mac } from '../../src/common/domain/mac';
import type { PageClient } from '../helpers/browserless-client';
import { type RunningSmbd, SMB_PASSWORD, SMB_USER, SMB_WORKGROUP, startSmbd } from '../helpers/smbd';
import { loggedIn, type TestShell } from '../helpers/test-shell';
import { type Lab, LAB, makeDisk, makeEspDisk, sha256File, startUefiLab, tftpSent, waitFor, type Vm, writeShellArtifacts } from './lib/lab';
import { scheduleThroughWizard } from './lib/wizard';

const WORK = path.resolve(__dirname, '..', '..', 'test-artifacts', 'e2e-uefi-clone');
const M = '/modules/clonage';
const MARKER = 'CLONAGE-ESP-MARKER';
const DISK_MIB = 32;
/** makeEspDisk's NTFS partition: from sector 34816 to 1 MiB before the end. */
const NTFS_LAST_SECTOR = (34816 + ((DISK_MIB - 18) << 11) - 1) * 512;
// From the bundled directory (s101-pc01..03, reserved 10.77.0.11..13)
const PCS = {
  pc01: { name: 's101-pc01', mac: '52:54:00:12:00:0b' },
  pc02: { name: 's101-pc02', mac: '52:54:00:12:00:0c' },
  pc03: { name: 's101-pc03', mac: '52:54:00:12:00:0d' },
} as const;
type PcKey = keyof typeof PCS;

describe('UEFI PCs: clone, backup and restore with Secure Boot on (shim → GRUB), clone with the iPXE chain', () => {
  let lab: Lab;
  let shell: TestShell;
  let plans: BootPlanStore;
  let admin: PageClient;
  let smbd: RunningSmbd;
  let relay: net.Server;
  const vms = {} as Record<PcKey, Vm>;
  const disk = (k: PcKey) => path.join(WORK, `${PCS[k].name}.img`);
  const started = Date.now();
  let original = '';

  const state = (id: string) => (shell.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(id) as { state: string }).state;
  const targets = (id: string) => shell.db.prepare('SELECT name, state, firmware, secure_boot, message FROM clonage_targets WHERE action_id = ? ORDER BY name').all(id) as {
    name: string; state: string; firmware: string | null; secure_boot: string | null; message: string | null;
  }[];
  /**
   * Where a disk first differs from pc01's original (-1: nowhere), the NTFS backup boot sector
   * aside: partclone.ntfs (clone and restore) copies the volume, not that sector after it, so a
   * blank receiver keeps its zeros there (docs/boot.md). GPT (both ends), ESP and NTFS volume count.
   */
  const differsFromOriginal = (file: string) => {
    const a = fs.readFileSync(file);
    const b = fs.readFileSync(path.join(WORK, 'pc01.before.img'));
    const at = (from: number, to: number) => {
      const i = a.subarray(from, to).findIndex((x, j) => x !== b[from + j]);
      return i < 0 ? -1 : from + i;
    };
    return { size: a.length === b.length, differsAt: Math.max(at(0, NTFS_LAST_SECTOR), at(NTFS_LAST_SECTOR + 512, b.length)) };
  };
  const bootRow = (page: string, name: string) =>
    new RegExp(`data-name="${name}">[\\s\\S]*?</td>`).exec(page)?.[0].match(/data-field="boot"[^>]*>([^<]*)</)?.[1];

  /** Starts the PCs once their plans are armed, waits for the action's end and every power-off. */
  async function run(id: string, pcs: PcKey[]): Promise<void> {
    await waitFor('the boot plans', () => plans.listArmed().length === pcs.length, 60_000);
    for (const k of pcs) vms[k].start();
    await waitFor('the action to finish', () => ['succeeded', 'failed', 'cancelled'].includes(state(id)), 900_000, 1000);
    const why = () => targets(id).map((t) => `${t.name} ${t.state}: ${t.message ?? ''}`).join('\n') + pcs.map((k) => `\n--- ${k}\n${vms[k].serial().slice(-2000)}`).join('');
    expect({ state: state(id), why: state(id) === 'succeeded' ? '' : why() }).toEqual({ state: 'succeeded', why: '' });
    // auto_reboot=always: each agent reboots, QEMU (-no-reboot) exits
    for (const k of pcs) await vms[k].waitExit(180_000);
    expect(plans.listArmed()).toEqual([]);
  }

  /** A clone from the admin pages' form (the fields the wizard's last step posts), run to its end. */
  async function clone(emitter: PcKey, receivers: PcKey[]): Promise<string> {
    const csrf = await admin.csrf(`${M}/actions/new?parc=salle101`);
    const created = await admin.post(`${M}/actions`, {
      _csrf: csrf, type: 'clone', parc: 'salle101', emitter: PCS[emitter].name, machine: receivers.map((k) => PCS[k].name),
            // min_wait 0: udp-sender starts as soon as every receiver is there
      domain: 'none', disk: 'vda', compression: 'zstd', min_receivers: String(receivers.length), min_wait: '0', max_wait: '3', start_timeout: '10',
      auto_reboot: 'always', confirm: '1',
    });
    expect([created.status, created.text.slice(0, 300)]).toEqual([303, expect.any(String)]);
    const id = created.location!.split('/').pop()!;
    await run(id, [emitter, ...receivers]);
    return id;
  }

  /** No plan: the PC's network boot hands over to its disk, whose ESP loader prints the marker. */
  async function localBoot(k: PcKey): Promise<void> {
    expect(plans.planFor(Mac.parse(PCS[k].mac)).kind).not.toBe('job');
    vms[k].start();
    // iPXE: after `exit 1` OVMF still tries HTTP boot over IPv4 (a timeout) before the disk
    await vms[k].waitSerial(new RegExp(MARKER), 420_000);
    expect(await vms[k].waitExit(60_000)).toBe(0);
    expect(vms[k].serial()).not.toMatch(/clonage\.job=/);
  }

  const setConfig = async (fields: Record<string, string>) => {
    const csrf = await admin.csrf(`${M}/config`);
    const r = await admin.post(`${M}/config`, { _csrf: csrf, ...fields });
    expect([r.status, r.status === 303 ? '' : r.text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 800)]).toEqual([303, '']);
  };

  beforeAll(async () => {
    ({ lab, shell, plans } = await startUefiLab(WORK));
    // The SMB share the PCs back up to: a real smbd on 127.0.0.1, reached at the server's
    // address on port 445 through a relay in this namespace.
    smbd = await startSmbd();
    relay = await new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer((c) => {
        const t = net.connect(smbd.port, '127.0.0.1');
        c.pipe(t).pipe(c);
        c.on('error', () => t.destroy());
        t.on('error', () => c.destroy());
      });
      s.once('error', reject);
      s.listen(445, LAB.serverIp, () => resolve(s));
    });
    makeEspDisk(disk('pc01'), DISK_MIB, MARKER);
    original = sha256File(disk('pc01'));
    fs.copyFileSync(disk('pc01'), path.join(WORK, 'pc01.before.img'));
    for (const k of ['pc02', 'pc03'] as const) makeDisk(disk(k), DISK_MIB, false);
    for (const k of Object.keys(PCS) as PcKey[]) vms[k] = lab.addVm(PCS[k].mac, disk(k), 512, 'uefi-sb');
    admin = await loggedIn({ url: shell.url.replace('0.0.0.0', '127.0.0.1') }, 'admin');
    await setConfig({
      'smb.server': LAB.serverIp, 'smb.share': 'netlogon', 'smb.subdir': 'clonage/images', 'smb.user': SMB_USER, 'smb.domain': SMB_WORKGROUP, 'smb.password': SMB_PASSWORD,
    });
  }, 180_000);

  afterAll(async () => {
    await lab?.stop();
    if (relay) await new Promise((r) => relay.close(r));
    await smbd?.stop();
    if (shell) writeShellArtifacts(shell, WORK);
    if (lab) fs.writeFileSync(path.join(WORK, 'dnsmasq.copy.log'), lab.dnsmasqLog());
    await shell?.stopAndClean();
    // eslint-disable-next-line no-console
    console.log(`e2e-uefi-clone: ${Math.round((Date.now() - started) / 1000)} s`);
  });

  test('Secure Boot on: clone pc01 → pc02 + pc03 from the admin pages, byte-identical but the NTFS backup boot sector, each PC reports "Secure Boot: on"', async () => {
    const id = await clone('pc01', ['pc02', 'pc03']);
    expect(sha256File(disk('pc01'))).toBe(original);
    for (const k of ['pc02', 'pc03'] as const) expect([k, differsFromOriginal(disk(k))]).toEqual([k, { size: true, differsAt: -1 }]);
    for (const k of ['pc01', 'pc02', 'pc03'] as const) {
      // shim → GRUB → Debian's signed kernel, under Secure Boot and lockdown
      expect(tftpSent(shell.logLines, `grub/mac/${PCS[k].mac}.cfg`)).toBe(true);
      expect([k, /Kernel is locked down from EFI Secure Boot/.test(vms[k].serial())]).toEqual([k, true]);
    }
    expect(targets(id).map((t) => [t.name, t.state, t.firmware, t.secure_boot])).toEqual(
      Object.values(PCS).map((p) => [p.name, 'succeeded', 'uefi', 'on']));
    const page = (await admin.get(`${M}/actions/${id}`)).text;
    expect(Object.values(PCS).map((p) => bootRow(page, p.name))).toEqual(Object.values(PCS).map(() => 'démarré en UEFI, Secure Boot : activé'));
  }, 1_200_000);

  test('Secure Boot on, no plan: the receiver boots its cloned disk (GRUB chainloads the ESP loader)', async () => {
    await localBoot('pc02');
  }, 400_000);

  test('Secure Boot on: backup to the SMB share and restore through the wizard (partclone, CIFS under lockdown), the disk comes back', async () => {
    const image = 'uefi_sb';
    const backup = await scheduleThroughWizard(admin, 'backup', 'salle101', PCS.pc01.name, { disk: 'vda', compression: 'zstd', image, store: 'smb', auto_reboot: 'always' });
    const backupId = backup.split('/').pop()!;
    await run(backupId, ['pc01']);
    expect(targets(backupId).map((t) => [t.firmware, t.secure_boot])).toEqual([['uefi', 'on']]);
    const dir = path.join(smbd.shareDir, 'clonage', 'images', PCS.pc01.mac.replace(/:/g, '-'), image);
    expect(fs.readdirSync(dir)).toEqual(expect.arrayContaining(['manifest.txt', 'table.sfdisk', 'head.bin', 'vda1.pc.zst.000', 'vda2.pc.zst.000']));
    expect(fs.readFileSync(path.join(dir, 'manifest.txt'), 'utf8')).toMatch(/^part 1 vda1 vfat /m);

    fs.writeFileSync(disk('pc01'), Buffer.alloc(DISK_MIB << 20));
    const restore = await scheduleThroughWizard(admin, 'restore', 'salle101', PCS.pc01.name, { disk: 'vda', image, store: 'smb', auto_reboot: 'always' });
    const restoreId = restore.split('/').pop()!;
    await run(restoreId, ['pc01']);
    expect(targets(restoreId).map((t) => [t.firmware, t.secure_boot])).toEqual([['uefi', 'on']]);
    // Byte for byte but the NTFS backup boot sector, which the restore leaves as the wipe did.
    expect(differsFromOriginal(disk('pc01'))).toEqual({ size: true, differsAt: -1 });
  }, 1_500_000);

  test('Secure Boot off, boot.uefiChain=ipxe: clone pc02 → pc03 through snponly.efi and the iPXE script, byte-identical, "Secure Boot: off"', async () => {
    await setConfig({ 'boot.uefiChain': 'ipxe' });
    expect(fs.readFileSync(shell.dhcp.api.configPath, 'utf8')).toContain('dhcp-boot=tag:!ipxe,tag:efi-x86_64,snponly.efi,,10.77.0.1');
    await lab.restartDnsmasq();
    for (const k of ['pc02', 'pc03'] as const) vms[k].setFirmware('uefi');
    makeDisk(disk('pc03'), DISK_MIB, false);
    const from = shell.logLines.length;
    const before = sha256File(disk('pc02'));
    const id = await clone('pc02', ['pc03']);
    // pc02 got no NTFS backup boot sector from the first clone: pc03 is its exact copy
    expect([sha256File(disk('pc02')), sha256File(disk('pc03'))]).toEqual([before, before]);
    expect(tftpSent(shell.logLines.slice(from), 'snponly.efi')).toBe(true);
    expect(tftpSent(shell.logLines.slice(from), 'bootx64.efi')).toBe(false);
    for (const k of ['pc02', 'pc03'] as const) expect([k, vms[k].serial()]).toEqual([k, expect.stringMatching(/iPXE/)]);
    expect(targets(id).map((t) => [t.name, t.firmware, t.secure_boot])).toEqual([[PCS.pc02.name, 'uefi', 'off'], [PCS.pc03.name, 'uefi', 'off']]);
    const page = (await admin.get(`${M}/actions/${id}`)).text;
    expect([bootRow(page, PCS.pc02.name), bootRow(page, PCS.pc03.name)]).toEqual(['démarré en UEFI, Secure Boot : désactivé', 'démarré en UEFI, Secure Boot : désactivé']);
  }, 1_200_000);

  test('Secure Boot off, iPXE chain, no plan: the PC boots its disk', async () => {
    await localBoot('pc03');
  }, 540_000);
});
