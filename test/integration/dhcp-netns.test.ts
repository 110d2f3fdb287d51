/**
 * End to end: dnsmasq runs our generated files inside a private network namespace, and
 * `busybox udhcpc` asks for a lease from a second namespace through a veth pair, as a PXE ROM
 * would (option 93 = client architecture, option 77 = user class "iPXE").
 * Only the two namespaces are touched (10.77.9.0/24); they and dnsmasq are removed in afterAll.
 * Needs root, ip(8), dnsmasq and busybox; skipped otherwise.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Ipv4 } from '../../src/common/domain/ipv4';
import type { PxeBootOptions } from '../../src/host/contract';
import { parseDhcpSettings } from '../../src/shell/dhcp/dhcp-config';
import { DhcpModule, type WriteResult } from '../../src/shell/dhcp/dhcp-module';
import { signalPidFile } from '../../src/shell/dhcp/files';

const DNSMASQ = '/usr/sbin/dnsmasq';
const run = promisify(execFile);
const NS_SERVER = `clonage-dhcp-${process.pid}-s`;
const NS_CLIENT = `clonage-dhcp-${process.pid}-c`;
const VETH_SERVER = `cdh${process.pid}s`; // at most 11 characters: IFNAMSIZ is 16
const VETH_CLIENT = `cdh${process.pid}c`;
const MAC_BIOS = '52:54:00:09:00:01';
const MAC_EFI = '52:54:00:09:00:02';
const MAC_LATE = '52:54:00:09:00:03';
const MAC_UNKNOWN = '52:54:00:09:00:99';

function netnsUsable(): boolean {
  if (process.getuid?.() !== 0 || !fs.existsSync(DNSMASQ)) return false;
  try {
    execFileSync('busybox', ['udhcpc', '--help'], { stdio: 'ignore' });
  } catch (e) {
    // busybox prints usage and exits 1: that still proves udhcpc is there
    if ((e as { code?: string }).code === 'ENOENT') return false;
  }
  try {
    execFileSync('ip', ['netns', 'add', `${NS_SERVER}-probe`], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', `${NS_SERVER}-probe`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const d = netnsUsable() ? describe : describe.skip;

d('dnsmasq with our configuration, in a network namespace', () => {
  let dir: string;
  let dhcp: DhcpModule;
  let dnsmasq: ChildProcess | null = null;
  let started = false;
  const reloads: WriteResult[] = [];
  const pxe: PxeBootOptions = {
    // not the DHCP server's address, to see that next-server is what we configured
    nextServer: Ipv4.parse('10.77.9.5'),
    biosBootFile: 'pxelinux.0',
    efiX64BootFile: 'bootx64.efi',
    ipxeScriptUrl: 'http://10.77.9.1:8080/boot/ipxe?mac=${net0/mac}',
  };
  const file = (name: string) => path.join(dir, name);
  const ipIn = (ns: string, ...args: string[]) => run('ip', ['-n', ns, ...args]);

  async function startDnsmasq(): Promise<void> {
    const readsBefore = hostsReads();
    fs.rmSync(file('dnsmasq.pid'), { force: true });
    dnsmasq = spawn('ip', ['netns', 'exec', NS_SERVER, DNSMASQ, '--keep-in-foreground', `--conf-file=${dhcp.configPath}`,
      `--pid-file=${file('dnsmasq.pid')}`, `--dhcp-leasefile=${file('dnsmasq.leases')}`, `--log-facility=${file('dnsmasq.log')}`, '--log-dhcp'],
    { stdio: 'ignore' });
    await waitFor(() => hostsReads() > readsBefore && fs.existsSync(file('dnsmasq.pid')), 'dnsmasq to start');
    started = true;
  }

  async function stopDnsmasq(): Promise<void> {
    started = false;
    const child = dnsmasq;
    dnsmasq = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM'); // by PID: `ip netns exec` has exec'd dnsmasq in place
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** How many times dnsmasq logged reading our hosts file: at start and at each SIGHUP. */
  function hostsReads(): number {
    if (!fs.existsSync(file('dnsmasq.log'))) return 0;
    return fs.readFileSync(file('dnsmasq.log'), 'utf8').split('\n').filter((l) => l.includes(`read ${dhcp.hostsPath}`)).length;
  }

  async function lease(mac: string, ...options: string[]): Promise<Record<string, string>> {
    await ipIn(NS_CLIENT, 'link', 'set', 'dev', VETH_CLIENT, 'address', mac);
    const out = file(`lease-${mac.replace(/:/g, '')}-${Date.now()}.env`);
    await run('ip', ['netns', 'exec', NS_CLIENT, 'busybox', 'udhcpc', '-i', VETH_CLIENT, '-f', '-q', '-n', '-t', '6', '-T', '1',
      '-s', file('udhcpc-script'), ...options.flatMap((o) => ['-x', o])], { env: { ...process.env, OUT: out }, timeout: 30_000 });
    return Object.fromEntries(fs.readFileSync(out, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-netns-'));
    fs.chmodSync(dir, 0o755); // dnsmasq re-reads the hosts file after dropping root
    // udhcpc runs this at each event; on "bound" it saves the lease (ip, siaddr, boot_file…).
    fs.writeFileSync(file('udhcpc-script'), '#!/bin/sh\n[ "$1" = bound ] && env > "$OUT"\nexit 0\n', { mode: 0o755 });
    await run('ip', ['netns', 'add', NS_SERVER]);
    await run('ip', ['netns', 'add', NS_CLIENT]);
    await run('ip', ['link', 'add', 'name', VETH_SERVER, 'netns', NS_SERVER, 'type', 'veth', 'peer', 'name', VETH_CLIENT, 'netns', NS_CLIENT]);
    await ipIn(NS_SERVER, 'addr', 'add', '10.77.9.1/24', 'dev', VETH_SERVER);
    await ipIn(NS_SERVER, 'link', 'set', VETH_SERVER, 'up');
    await ipIn(NS_CLIENT, 'link', 'set', VETH_CLIENT, 'up');

    dhcp = new DhcpModule({
      db: new Database(':memory:'),
      settings: parseDhcpSettings({ interface: VETH_SERVER, subnet: '10.77.9.0/24', dynamicRange: { start: '10.77.9.100', end: '10.77.9.150' } }),
      clock: { now: () => new Date() },
      configPath: file('dnsmasq.conf'),
      reload: (w) => {
        reloads.push(w);
        if (started) signalPidFile(file('dnsmasq.pid'));
      },
    });
    dhcp.addReservation({ mac: MAC_BIOS, ip: '10.77.9.10', name: 'pc-bios' });
    dhcp.addReservation({ mac: MAC_EFI, ip: '10.77.9.11', name: 'pc-efi' });
    dhcp.setPxeBoot('clonage', pxe);
    await startDnsmasq();
  });

  afterAll(async () => {
    await stopDnsmasq();
    for (const ns of [NS_CLIENT, NS_SERVER]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives a BIOS PXE client its reserved address, name and the BIOS boot file from next-server', async () => {
    const l = await lease(MAC_BIOS, '0x5d:0000');
    expect(l).toMatchObject({ ip: '10.77.9.10', hostname: 'pc-bios', boot_file: 'pxelinux.0', siaddr: '10.77.9.5', subnet: '255.255.255.0' });
    expect(l.router).toBeUndefined(); // no gateway configured: dnsmasq must not offer itself
    expect(l.dns).toBeUndefined();
  });

  it('gives x86-64 UEFI clients (arch 7 and 9) the EFI boot file', async () => {
    expect(await lease(MAC_EFI, '0x5d:0007')).toMatchObject({ ip: '10.77.9.11', boot_file: 'bootx64.efi', siaddr: '10.77.9.5' });
    expect((await lease(MAC_EFI, '0x5d:0009')).boot_file).toBe('bootx64.efi');
  });

  it('sends iPXE clients to the script URL', async () => {
    const l = await lease(MAC_BIOS, '0x5d:0000', '0x4d:69505845'); // user class "iPXE"
    expect(l.boot_file).toBe('http://10.77.9.1:8080/boot/ipxe?mac=${net0/mac}');
  });

  it('sends UEFI iPXE clients to the script even when BIOS iPXE clients load the BIOS file (no ipxe.efi loop)', async () => {
    dhcp.setPxeBoot('clonage', { ...pxe, ipxeScriptForBios: false });
    await stopDnsmasq();
    await startDnsmasq();
    try {
      expect((await lease(MAC_EFI, '0x5d:0007', '0x4d:69505845')).boot_file).toBe('http://10.77.9.1:8080/boot/ipxe?mac=${net0/mac}');
      expect((await lease(MAC_BIOS, '0x5d:0000', '0x4d:69505845')).boot_file).toBe('pxelinux.0');
    } finally {
      dhcp.setPxeBoot('clonage', pxe);
      await stopDnsmasq();
      await startDnsmasq();
    }
  });

  it('gives an architecture without a loader (IA32 UEFI 6, HTTP boot 16) an address, no boot file, and a tagged log line', async () => {
    for (const arch of ['0x5d:0006', '0x5d:0010']) {
      const l = await lease(MAC_EFI, arch);
      expect([l.ip, l.boot_file]).toEqual(['10.77.9.11', undefined]);
    }
    expect(fs.readFileSync(file('dnsmasq.log'), 'utf8')).toMatch(/tags: .*clonage-no-loader-for-arch/);
    // known architectures are not tagged
    const before = fs.readFileSync(file('dnsmasq.log'), 'utf8').length;
    await lease(MAC_EFI, '0x5d:0007');
    expect(fs.readFileSync(file('dnsmasq.log'), 'utf8').slice(before)).not.toContain('clonage-no-loader-for-arch');
  });

  it('gives an unknown machine an address from the dynamic range', async () => {
    const ip = Ipv4.parse((await lease(MAC_UNKNOWN, '0x5d:0000')).ip).value;
    expect(ip).toBeGreaterThanOrEqual(Ipv4.parse('10.77.9.100').value);
    expect(ip).toBeLessThanOrEqual(Ipv4.parse('10.77.9.150').value);
  });

  it('applies a new reservation with a SIGHUP, without restarting dnsmasq', async () => {
    const reads = hostsReads();
    const pid = dnsmasq?.pid;
    dhcp.addReservation({ mac: MAC_LATE, ip: '10.77.9.12', name: 'pc-late' });
    expect(reloads.at(-1)).toEqual({ configChanged: false, hostsChanged: true });
    await waitFor(() => hostsReads() > reads, 'dnsmasq to re-read the hosts file');
    expect(await lease(MAC_LATE, '0x5d:0000')).toMatchObject({ ip: '10.77.9.12', hostname: 'pc-late' });
    expect(dnsmasq?.pid).toBe(pid);
  });

  it('needs a restart for a main-config change (PXE options): SIGHUP alone keeps the old boot file', async () => {
    const reads = hostsReads();
    dhcp.setPxeBoot('clonage', { ...pxe, biosBootFile: 'bios/lpxelinux.0' });
    expect(reloads.at(-1)).toEqual({ configChanged: true, hostsChanged: false });
    await waitFor(() => hostsReads() > reads, 'dnsmasq to handle the SIGHUP');
    expect((await lease(MAC_BIOS, '0x5d:0000')).boot_file).toBe('pxelinux.0');
    await stopDnsmasq();
    await startDnsmasq();
    expect((await lease(MAC_BIOS, '0x5d:0000')).boot_file).toBe('bios/lpxelinux.0');
  });
});

async function waitFor(ok: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
