import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BootPlanStore } from '../../../src/boot/boot-plan-store';
import { startTestShell, type TestShell } from '../../helpers/test-shell';

/**
 * The PXE lab for end-to-end tests: a bridge with the server address, one tap per virtual PC,
 * dnsmasq serving our generated DHCP config, and QEMU PCs (TCG) booting from the network.
 * It runs only inside the network namespace made by scripts/e2e.sh, never on the host's network.
 */
export const LAB = { bridge: 'br0', serverIp: '10.77.0.1', prefix: 24, subnet: '10.77.0.0/24' } as const;

export function assertInsideTestNamespace(): void {
  const ns = process.env.CLONAGE_E2E_NETNS;
  if (!ns) throw new Error('e2e suites run through `npm run test:e2e` (scripts/e2e.sh), inside their own network namespace');
  const r = spawnSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' });
  if (r.stdout.trim() !== ns) throw new Error(`not inside the test namespace ${ns} (found "${r.stdout.trim()}"): refusing to touch the network`);
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/**
 * `bios`: SeaBIOS with QEMU's iPXE NIC ROM. `uefi-sb` / `uefi`: OVMF with the Microsoft keys
 * enrolled (Debian ovmf, .ms variable store), Secure Boot on / off, the NIC without its iPXE ROM
 * (`romfile=`), so the firmware's own PXE runs as on a real PC (docs/boot.md).
 */
export type Firmware = 'bios' | 'uefi-sb' | 'uefi';

export interface VmOptions {
  readonly index: number;
  readonly mac: string;
  readonly disk: string;
  readonly memMiB?: number;
  firmware?: Firmware;
}

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.ms.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';

export class Vm {
  private proc: ChildProcess | null = null;
  private exited: Promise<number | null> | null = null;
  readonly serialFile: string;
  boots = 0;

  constructor(readonly opts: VmOptions, private readonly workDir: string) {
    this.serialFile = path.join(workDir, `vm${opts.index}.serial`);
  }

  get tap(): string {
    return `tap${this.opts.index}`;
  }

  /** Powers the PC on, booting from the network; QEMU exits when the guest reboots or powers off. */
  start(): void {
    if (this.proc) throw new Error(`vm${this.opts.index} already running`);
    this.boots++;
    const serial = `${this.serialFile}.${this.boots}`;
    const fw = this.opts.firmware ?? 'bios';
    const common = ['-display', 'none', '-monitor', 'none', '-no-reboot', '-netdev', `tap,id=n0,ifname=${this.tap},script=no,downscript=no`];
    // UEFI PCs: the serial port is a socket too, so a test can type at the GRUB menu (type()); its
    // output goes to the file all the same. BIOS PCs keep the plain file.
    fs.rmSync(this.serialSocket, { force: true });
    const serialArgs = fw === 'bios'
      ? ['-serial', `file:${serial}`]
      : ['-chardev', `socket,id=s0,path=${this.serialSocket},server=on,wait=off,logfile=${serial}`, '-serial', 'chardev:s0'];
    const args = fw === 'bios'
      ? [
        '-machine', 'pc,accel=tcg', '-cpu', 'qemu64', '-smp', '1', '-m', String(this.opts.memMiB ?? 256), '-boot', 'n', ...common, ...serialArgs,
        '-device', `virtio-net-pci,netdev=n0,mac=${this.opts.mac}`,
        '-drive', `file=${this.opts.disk},format=raw,if=virtio,cache=unsafe`,
      ]
      : [
        // The .ms code is OVMF's SMM build: its flash is SMM-protected whether Secure Boot is on
        // or not; the variable store alone says whether it is enforced (varsFile).
        '-machine', 'q35,smm=on,accel=tcg', '-global', 'driver=cfi.pflash01,property=secure,value=on',
        '-cpu', 'qemu64', '-smp', '1', '-m', String(this.opts.memMiB ?? 512), ...common, ...serialArgs,
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
        '-drive', `if=pflash,format=raw,unit=1,file=${this.varsFile(fw)}`,
        '-device', `virtio-net-pci,netdev=n0,mac=${this.opts.mac},romfile=,bootindex=1`,
        // Network boot over IPv4 only, as school PCs are usually set: when the network boot
        // hands back (iPXE `exit 1`), OVMF would otherwise try PXE over IPv6 and HTTP boot over
        // IPv6 (a timeout each) before the disk.
        '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=no', '-fw_cfg', 'name=opt/org.tianocore/IPv6Support,string=no',
        '-drive', `file=${this.opts.disk},format=raw,if=none,id=d0,cache=unsafe`, '-device', 'virtio-blk-pci,drive=d0,bootindex=2',
      ];
    this.proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    this.proc.stderr?.on('data', (d) => (err += String(d)));
    this.exited = new Promise((resolve) => this.proc!.once('exit', (code) => {
      if (code && err) fs.writeFileSync(path.join(this.workDir, `vm${this.opts.index}.qemu.err`), err);
      this.proc = null;
      resolve(code);
    }));
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /** Switches Secure Boot on (`uefi-sb`) or off (`uefi`) for the next start, as in the firmware's setup. */
  setFirmware(fw: Firmware): void {
    if (this.proc) throw new Error(`vm${this.opts.index}: power it off before changing its firmware`);
    this.opts.firmware = fw;
  }

  private get serialSocket(): string {
    return path.join(this.workDir, `vm${this.opts.index}.serial.sock`);
  }

  /**
   * The PC's own UEFI variable store, copied once from the .ms template: with Secure Boot on,
   * OVMF enforces the enrolled Microsoft keys; off, the same keys are there but not enforced
   * (OVMF_VARS .ms enrols them and turns enforcement on, so `uefi` uses the plain store).
   */
  private varsFile(fw: Firmware): string {
    const file = path.join(this.workDir, `vm${this.opts.index}.${fw}.vars.fd`);
    if (!fs.existsSync(file)) fs.copyFileSync(fw === 'uefi-sb' ? OVMF_VARS : OVMF_VARS.replace('.ms.fd', '.fd'), file);
    return file;
  }

  /** Types at the PC's serial console (e.g. a GRUB menu): keys as the terminal sends them. */
  async type(keys: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(this.serialSocket, () => {
        sock.end(Buffer.from(keys, 'latin1'), () => resolve());
      });
      sock.once('error', reject);
    });
  }

  serial(boot = this.boots): string {
    try {
      return fs.readFileSync(`${this.serialFile}.${boot}`, 'latin1');
    } catch {
      return '';
    }
  }

  /** Waits for the guest to stop (reboot or poweroff), bounded. */
  async waitExit(timeoutMs: number): Promise<number | null> {
    if (!this.exited) return null;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`vm${this.opts.index} still running after ${timeoutMs} ms\n--- serial ---\n${this.serial().slice(-3000)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  async waitSerial(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.serial().match(pattern);
      if (m) return m;
      if (Date.now() > end) throw new Error(`vm${this.opts.index}: ${pattern} not seen within ${timeoutMs} ms\n--- serial ---\n${this.serial().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async kill(): Promise<void> {
    if (this.proc) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

export class Lab {
  private dnsmasq: ChildProcess | null = null;
  private dnsmasqArgs: { configFile: string; opts: { forcePxeClient?: boolean } } | null = null;
  readonly vms: Vm[] = [];

  private constructor(readonly workDir: string) {}

  /** Bridge (IGMP snooping off, or multicast to receivers is lost) with the server address. */
  static create(workDir: string): Lab {
    assertInsideTestNamespace();
    fs.mkdirSync(workDir, { recursive: true });
    ip('link', 'add', LAB.bridge, 'type', 'bridge');
    ip('link', 'set', LAB.bridge, 'type', 'bridge', 'mcast_snooping', '0');
    ip('addr', 'add', `${LAB.serverIp}/${LAB.prefix}`, 'brd', '+', 'dev', LAB.bridge);
    ip('link', 'set', LAB.bridge, 'up');
    // udp-sender/receiver on the server side (multicast restore) route multicast out of the bridge
    spawnSync('ip', ['route', 'add', '224.0.0.0/4', 'dev', LAB.bridge]);
    return new Lab(workDir);
  }

  addVm(mac: string, diskFile: string, memMiB?: number, firmware?: Firmware): Vm {
    const index = this.vms.length;
    ip('tuntap', 'add', 'dev', `tap${index}`, 'mode', 'tap');
    ip('link', 'set', `tap${index}`, 'master', LAB.bridge);
    ip('link', 'set', `tap${index}`, 'up');
    const vm = new Vm({ index, mac, disk: diskFile, memMiB, firmware }, this.workDir);
    this.vms.push(vm);
    return vm;
  }

  /** Real dnsmasq with the DHCP module's generated config (DHCP only; our own TFTP server answers). */
  async startDnsmasq(configFile: string, opts: { forcePxeClient?: boolean } = {}): Promise<void> {
    this.dnsmasqArgs = { configFile, opts };
    const log = path.join(this.workDir, 'dnsmasq.log');
    this.dnsmasq = spawn('dnsmasq', [
      '--keep-in-foreground', `--conf-file=${configFile}`, '--user=root',
      `--dhcp-leasefile=${path.join(this.workDir, 'leases')}`, `--log-facility=${log}`, '--log-dhcp',
      // BIOS iPXE ROMs wait for ProxyDHCP offers unless the server says it is the PXE server (lab
      // recipe); UEFI firmware (EDK2) then takes the offer for a proxy one and fails with
      // PXE-E16, so a lab of UEFI PCs leaves it out.
      ...(opts.forcePxeClient === false ? [] : ['--dhcp-option-force=60,PXEClient']),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    this.dnsmasq.stderr?.on('data', (d) => (err += String(d)));
    await new Promise((r) => setTimeout(r, 500));
    if (this.dnsmasq.exitCode !== null) throw new Error(`dnsmasq exited: ${err}`);
  }

  /** dnsmasq reads its main config only at start (a SIGHUP re-reads the hosts file only). */
  async restartDnsmasq(): Promise<void> {
    if (!this.dnsmasqArgs) throw new Error('dnsmasq was never started');
    await this.stopDnsmasq();
    await this.startDnsmasq(this.dnsmasqArgs.configFile, this.dnsmasqArgs.opts);
  }

  private async stopDnsmasq(): Promise<void> {
    if (this.dnsmasq && this.dnsmasq.exitCode === null) {
      const p = this.dnsmasq;
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
    this.dnsmasq = null;
  }

  dnsmasqLog(): string {
    try {
      return fs.readFileSync(path.join(this.workDir, 'dnsmasq.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    for (const vm of this.vms) await vm.kill();
    await this.stopDnsmasq();
    for (const vm of this.vms) spawnSync('ip', ['link', 'del', vm.tap]);
    spawnSync('ip', ['link', 'del', LAB.bridge]);
  }
}

/** A raw disk image of `mib` MiB, random (an emitter's system) or zero (a blank receiver). */
export function makeDisk(file: string, mib: number, random: boolean): void {
  if (random) {
    const fd = fs.openSync(file, 'w');
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < mib; i++) {
      require('node:crypto').randomFillSync(chunk);
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
  } else {
    fs.writeFileSync(file, '');
    fs.truncateSync(file, mib << 20);
  }
}

export function sha256File(file: string): string {
  const h = require('node:crypto').createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let n: number;
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

/** Polls `cond` every `stepMs` until it holds; throws naming `what` after `ms`. */
export async function waitFor(what: string, cond: () => boolean, ms: number, stepMs = 500): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Whether the shell's TFTP server logged sending `file` (in `lines`, e.g. a slice of shell.logLines). */
export function tftpSent(lines: readonly string[], file: string): boolean {
  return lines.some((l) => l.includes('"msg":"tftp: sent"') && l.includes(`"file":"${file}"`));
}

/**
 * The real shell as the lab's PXE server (same settings as pxe-clone.test.ts): HTTP on 0.0.0.0:8080,
 * TFTP on port 69, the module enabled, the boot environment `bootenv` installed as the `clonage` toolkit.
 * With `dataDir`, a restart on the data of a shell that stopped (fault tests).
 */
export async function startLabShell(bootenv: string, moduleSettings: Record<string, unknown> = {}, dataDir?: string): Promise<TestShell> {
  if (!fs.existsSync(path.join(bootenv, 'vmlinuz'))) throw new Error(`${bootenv}: no vmlinuz, build it with pxe/build-bootenv.sh (scripts/e2e.sh does)`);
  return startTestShell(
    {
      listen: { host: '0.0.0.0', port: 8080 },
      network: { serverIp: LAB.serverIp, publicBaseUrl: `http://${LAB.serverIp}:8080`, wakeBroadcasts: ['10.77.0.255'] },
      moduleSettings: {
        clonage: { 'tftp.port': 69, 'tftp.bindAddress': '0.0.0.0', 'boot.ipxeHttpScript': false, 'menu.timeoutSeconds': 1, ...moduleSettings },
      },
    },
    {
      autoEnable: ['clonage'],
      dataDir, // a restart: the same data as the shell that stopped
      beforeStart: (dataDir) => fs.cpSync(bootenv, path.join(dataDir, 'modules/clonage/toolkits/clonage'), { recursive: true }),
    },
  );
}

/**
 * The lab of the UEFI suites: an empty `workDir`, the bridge, the real shell as PXE server with the
 * boot environment of scripts/e2e.sh, and dnsmasq with the module's configuration as it is. EDK2
 * must not be told "PXEClient" by force (PXE-E16): the module's own options are enough.
 */
export async function startUefiLab(workDir: string): Promise<{ lab: Lab; shell: TestShell; plans: BootPlanStore }> {
  const bootenv = process.env.CLONAGE_BOOTENV;
  if (!bootenv) throw new Error('CLONAGE_BOOTENV: run through scripts/e2e.sh');
  fs.rmSync(workDir, { recursive: true, force: true });
  const lab = Lab.create(workDir);
  const shell = await startLabShell(bootenv);
  await lab.startDnsmasq(shell.dhcp.api.configPath, { forcePxeClient: false });
  return { lab, shell, plans: new BootPlanStore(shell.db, { now: () => new Date() }) };
}

/** What a run leaves for a reader in its artifacts folder: the shell's log and every target row. */
export function writeShellArtifacts(shell: TestShell, workDir: string): void {
  fs.writeFileSync(path.join(workDir, 'shell.log'), shell.logLines.join('\n'));
  const rows = shell.db.prepare('SELECT action_id, name, role, state, stage, percent, exit_code, message, log FROM clonage_targets ORDER BY started_at').all();
  fs.writeFileSync(path.join(workDir, 'targets.json'), JSON.stringify(rows, null, 2));
}

/**
 * A GPT disk whose ESP (partition 1, 16 MiB FAT, made with mtools) boots a loader that prints
 * `marker` on the console and powers the PC off: Debian's signed GRUB as \EFI\BOOT\BOOTX64.EFI
 * (it runs under Secure Boot when chainloaded by the network GRUB, through shim's verifier)
 * reading /boot/grub/grub.cfg, found through /.disk/info. Partition 2 (the rest but 1 MiB, a
 * Windows data partition) is NTFS (mkntfs), so jobs meet partclone.fat, partclone.ntfs and
 * ntfs-3g as on a school PC. Unused space is zeros.
 */
export function makeEspDisk(file: string, mib: number, marker: string): void {
  const run = (cmd: string, args: string[], input?: string) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', input });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  fs.writeFileSync(file, '');
  fs.truncateSync(file, mib << 20);
  if (mib < 20) throw new Error('makeEspDisk: at least 20 MiB (16 MiB ESP, 2 MiB NTFS, GPT)');
  const ntfsMiB = mib - 18;
  run('sfdisk', ['-q', file], `label: gpt\nstart=2048, size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=34816, size=${ntfsMiB}MiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n`);
  const esp = `${file}@@1048576`;
  const tmp = fs.mkdtempSync(path.join(path.dirname(file), 'esp-'));
  try {
    fs.writeFileSync(path.join(tmp, 'info'), 'clonage test disk\n');
    fs.writeFileSync(path.join(tmp, 'grub.cfg'), `echo ${marker}\nsleep 1\nhalt\n`);
    run('mformat', ['-i', esp, '-T', '32768', '-v', 'ESP', '::']);
    run('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT', '::/.disk', '::/boot', '::/boot/grub']);
    run('mcopy', ['-i', esp, '/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed', '::/EFI/BOOT/BOOTX64.EFI']);
    run('mcopy', ['-i', esp, path.join(tmp, 'info'), '::/.disk/info']);
    run('mcopy', ['-i', esp, path.join(tmp, 'grub.cfg'), '::/boot/grub/grub.cfg']);
    const ntfs = path.join(tmp, 'ntfs.img');
    fs.writeFileSync(ntfs, '');
    fs.truncateSync(ntfs, ntfsMiB << 20);
    run('mkntfs', ['-F', '-Q', '-q', '-L', 'DATA', '-s', '512', '-p', '34816', ntfs]);
    const fd = fs.openSync(file, 'r+');
    try {
      fs.writeSync(fd, fs.readFileSync(ntfs), 0, ntfsMiB << 20, 34816 * 512);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
