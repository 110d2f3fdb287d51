/**
 * End to end with QEMU PCs (TCG) on a bridge inside this run's network namespace:
 * real dnsmasq with our generated DHCP config, our TFTP server and boot plans, the real boot
 * environment (pxe/build-bootenv.sh) and its agent, real udpcast between the PCs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Mac } from '../../src/common/domain/mac';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { PageClient } from '../helpers/browserless-client';
import { startTestShell, USERS, type TestShell } from '../helpers/test-shell';
import { Lab, LAB, makeDisk, sha256File, type Vm } from './lib/lab';

const WORK = path.resolve(__dirname, '..', '..', 'test-artifacts', 'e2e-pxe');
const DISK_MIB = 32;
// From the bundled directory: s101-pc01..04 are 52:54:00:12:00:0b..0e, reserved 10.77.0.11..14
const PC = {
  emitter: { name: 's101-pc01', mac: '52:54:00:12:00:0b' },
  receiver1: { name: 's101-pc02', mac: '52:54:00:12:00:0c' },
  receiver2: { name: 's101-pc03', mac: '52:54:00:12:00:0d' },
  idle: { name: 's101-pc04', mac: '52:54:00:12:00:0e' },
};

describe('PXE boot and clone with QEMU PCs', () => {
  let lab: Lab;
  let shell: TestShell;
  let plans: BootPlanStore;
  const vms: Record<keyof typeof PC, Vm> = {} as never;
  const disk = (k: keyof typeof PC) => path.join(WORK, `${PC[k].name}.img`);
  const served = (file: string) =>
    shell.logLines.some((l) => l.includes('"msg":"tftp: sent"') && l.includes(`"file":"${file}"`));
  const waitFor = async (what: string, cond: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  beforeAll(async () => {
    const bootenv = process.env.CLONAGE_BOOTENV;
    if (!bootenv || !fs.existsSync(path.join(bootenv, 'vmlinuz'))) throw new Error('CLONAGE_BOOTENV: build it with pxe/build-bootenv.sh (scripts/e2e.sh does)');
    fs.rmSync(WORK, { recursive: true, force: true });
    lab = Lab.create(WORK);
    shell = await startTestShell(
      {
        listen: { host: '0.0.0.0', port: 8080 },
        network: { serverIp: LAB.serverIp, publicBaseUrl: `http://${LAB.serverIp}:8080`, wakeBroadcasts: ['10.77.0.255'] },
        moduleSettings: {
          clonage: { 'tftp.port': 69, 'tftp.bindAddress': '0.0.0.0', 'boot.ipxeHttpScript': false, 'menu.timeoutSeconds': 1 },
        },
      },
      {
        autoEnable: ['clonage'],
        beforeStart: (dataDir) => fs.cpSync(bootenv, path.join(dataDir, 'modules/clonage/toolkits/clonage'), { recursive: true }),
      },
    );
    plans = new BootPlanStore(shell.db, { now: () => new Date() });
    await lab.startDnsmasq(shell.dhcp.api.configPath);
    makeDisk(disk('emitter'), DISK_MIB, true);
    makeDisk(disk('receiver1'), DISK_MIB, false);
    makeDisk(disk('receiver2'), DISK_MIB, false);
    makeDisk(disk('idle'), 16, false);
    for (const k of Object.keys(PC) as (keyof typeof PC)[]) vms[k] = lab.addVm(PC[k].mac, disk(k));
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    if (shell) {
      fs.writeFileSync(path.join(WORK, 'shell.log'), shell.logLines.join('\n'));
      // what the agents sent (progress, logs, results), kept for the CI artifacts
      const rows = shell.db.prepare('SELECT name, role, state, exit_code, message, log FROM clonage_targets ORDER BY name').all();
      fs.writeFileSync(path.join(WORK, 'targets.json'), JSON.stringify(rows, null, 2));
    }
    if (lab) fs.writeFileSync(path.join(WORK, 'dnsmasq.copy.log'), lab.dnsmasqLog());
    await shell?.stopAndClean();
  });

  test('with no plan, a PC gets its DHCP reservation, the menu over TFTP, then boots its local disk', async () => {
    const vm = vms.idle;
    vm.start();
    const cfg = `pxelinux.cfg/${Mac.parse(PC.idle.mac).pxelinuxName()}`;
    await waitFor(`${cfg} over TFTP`, () => served('pxelinux.0') && served(cfg), 90_000);
    // menu timeout (1 s) → ONTIMEOUT local boot: chain.c32 is fetched to boot hd0
    await waitFor('chain.c32 (local boot)', () => served('chain.c32'), 60_000);
    expect(lab.dnsmasqLog()).toMatch(/DHCPACK\(br0\) 10\.77\.0\.14 52:54:00:12:00:0e s101-pc04/);
    expect(plans.listArmed()).toEqual([]);
    await vm.kill();
  }, 200_000);

  test('a clone from the admin pages: emitter onto two receivers, byte-identical, then local boot', async () => {
    const before = sha256File(disk('emitter'));
    const admin = new PageClient(shell.url.replace('0.0.0.0', '127.0.0.1'));
    expect(await admin.login(USERS.admin.login, USERS.admin.password)).toBe(303);
    const csrf = await admin.csrf('/modules/clonage/actions/new?parc=salle101');
    const created = await admin.post('/modules/clonage/actions', {
      _csrf: csrf, type: 'clone', parc: 'salle101', emitter: PC.emitter.name, machine: [PC.receiver1.name, PC.receiver2.name],
      domain: 'none', disk: 'vda', compression: 'zstd', min_receivers: '2', min_wait: '1', max_wait: '3', start_timeout: '10',
      auto_reboot: 'always', confirm: '1',
    });
    expect([created.status, created.text.slice(0, 300)]).toEqual([303, expect.any(String)]);
    const actionPath = created.location!;
    const actionId = actionPath.split('/').pop()!;
    const state = () => (shell.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(actionId) as { state: string }).state;

    await waitFor('boot plans armed', () => plans.listArmed().length === 3, 40_000);
    for (const k of ['emitter', 'receiver1', 'receiver2'] as const) vms[k].start();

    await waitFor('the action to finish', () => ['succeeded', 'failed', 'cancelled'].includes(state()), 600_000);
    const targets = shell.db.prepare('SELECT name, role, state, message, started_at, finished_at FROM clonage_targets WHERE action_id = ? ORDER BY name').all(actionId) as {
      name: string; state: string; started_at: string | null; finished_at: string | null;
    }[];
    expect({ state: state(), targets: targets.map((t) => [t.name, t.state]) }).toEqual({
      state: 'succeeded',
      targets: [[PC.emitter.name, 'succeeded'], [PC.receiver1.name, 'succeeded'], [PC.receiver2.name, 'succeeded']],
    });
    for (const t of targets) expect(Date.parse(t.finished_at!) - Date.parse(t.started_at!)).toBeGreaterThan(0);

    // the agents reboot (auto_reboot=always): QEMU exits with -no-reboot
    for (const k of ['emitter', 'receiver1', 'receiver2'] as const) await vms[k].waitExit(120_000);
    expect(sha256File(disk('emitter'))).toBe(before);
    expect(sha256File(disk('receiver1'))).toBe(before);
    expect(sha256File(disk('receiver2'))).toBe(before);
    expect(vms.emitter.serial()).toMatch(/clonage\.job=j_[A-Za-z0-9_-]+/);

    // every plan was consumed: the next PXE boot of each PC boots its local disk
    expect(plans.listArmed()).toEqual([]);
    for (const k of ['emitter', 'receiver1', 'receiver2'] as const) expect(plans.planFor(Mac.parse(PC[k].mac)).kind).not.toBe('job');
    const page = await admin.get(actionPath);
    expect(page.status).toBe(200);
    expect(page.text).toContain('succeeded');

    const sentBefore = shell.logLines.length;
    vms.receiver1.start();
    const cfg = `pxelinux.cfg/${Mac.parse(PC.receiver1.mac).pxelinuxName()}`;
    await waitFor('the receiver to PXE-boot again', () => shell.logLines.slice(sentBefore).some((l) => l.includes('"msg":"tftp: sent"') && l.includes(cfg)), 90_000);
    await waitFor('chain.c32 (local boot)', () => shell.logLines.slice(sentBefore).some((l) => l.includes('"msg":"tftp: sent"') && l.includes('"file":"chain.c32"')), 60_000);
    expect(shell.logLines.slice(sentBefore).some((l) => l.includes('"file":"toolkits/clonage/vmlinuz"'))).toBe(false);
    await vms.receiver1.kill();
  }, 900_000);
});
