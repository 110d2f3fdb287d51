import { Hostname } from '../../src/common/domain/hostname';
import { InputError } from '../../src/common/domain/errors';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import type { DhcpReservation } from '../../src/host/contract';
import { parseConfigPath, parseDhcpSettings, parsePxeBootOptions } from '../../src/shell/dhcp/dhcp-config';
import { dnsmasqHostEntry, renderDnsmasqConfig, renderDnsmasqHosts } from '../../src/shell/dhcp/dnsmasq-renderer';
import { renderIscDhcpdConfig } from '../../src/shell/dhcp/isc-renderer';
import { expectGolden } from '../helpers/golden';

const full = parseDhcpSettings({
  interface: 'br0',
  subnet: '10.77.0.0/24',
  gateway: '10.77.0.254',
  dnsServers: ['10.77.0.2', '10.77.0.3'],
  dynamicRange: { start: '10.77.0.100', end: '10.77.0.199' },
  leaseTime: '12h',
  domainName: 'college.lan',
});
const staticOnly = parseDhcpSettings({ interface: 'enp1s0', subnet: '10.77.0.0/24', dynamicRange: null, leaseTime: '1d' });

const withIpxe = parsePxeBootOptions({
  nextServer: Ipv4.parse('10.77.0.1'),
  biosBootFile: 'pxelinux.0',
  efiX64BootFile: 'bootx64.efi',
  ipxeScriptUrl: 'http://10.77.0.1:8080/modules/clonage/boot/ipxe?mac=${net0/mac}',
});
const withoutIpxe = parsePxeBootOptions({ ...withIpxe, ipxeScriptUrl: null });
// boot.ipxeHttpScript=false: BIOS iPXE loads pxelinux.0, UEFI iPXE still gets the script (no loop)
const scriptForUefiOnly = parsePxeBootOptions({ ...withIpxe, ipxeScriptForBios: false });
// a server with no BIOS loader in place: BIOS PCs get no boot file
const uefiOnly = parsePxeBootOptions({ ...withIpxe, biosBootFile: null });
const linesOf = (text: string) => text.split('\n');

const res = (mac: string, ip: string, name: string): DhcpReservation => ({ mac: Mac.parse(mac), ip: Ipv4.parse(ip), name: Hostname.parse(name) });
// Deliberately unsorted, and with .9 < .10 < .100 to catch a textual sort.
const reservations = [res('52:54:00:00:00:0a', '10.77.0.10', 'pc-10'), res('52-54-00-00-00-64', '10.77.0.210', 'prof'), res('525400000009', '10.77.0.9', 'PC-09')];

describe('dnsmasq renderer', () => {
  it('renders the full configuration with inline reservations', () => {
    expectGolden('dhcp/dnsmasq-full.conf', renderDnsmasqConfig(full, { inline: reservations }, withIpxe));
  });

  it('renders a static-only configuration without PXE nor reservations', () => {
    const text = renderDnsmasqConfig(staticOnly, { inline: [] }, null);
    expectGolden('dhcp/dnsmasq-static-no-pxe.conf', text);
    expect(text).toContain('dhcp-range=10.77.0.0,static,255.255.255.0,1d');
    // no router/DNS announced when none configured (dnsmasq would announce itself)
    expect(text).toContain('dhcp-option=option:router\n');
    expect(text).not.toContain('dhcp-boot');
  });

  it('points to a hosts file and boots iPXE clients like the others when there is no script URL', () => {
    const text = renderDnsmasqConfig(full, { file: parseConfigPath('/var/lib/clonage/dnsmasq.hosts', 'hostsPath') }, withoutIpxe);
    expectGolden('dhcp/dnsmasq-hostsfile-no-ipxe.conf', text);
    expect(text).not.toContain('tag:!ipxe');
    expect(text).not.toContain('dhcp-host=');
    expectGolden('dhcp/dnsmasq.hosts', renderDnsmasqHosts(reservations));
  });

  it('has the required lines', () => {
    const text = renderDnsmasqConfig(full, { inline: reservations }, withIpxe);
    for (const line of [
      'port=0',
      'interface=br0',
      'bind-interfaces',
      'dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,12h',
      'dhcp-option=option:router,10.77.0.254',
      'dhcp-option=option:dns-server,10.77.0.2,10.77.0.3',
      'dhcp-match=set:efi-x86_64,option:client-arch,7',
      'dhcp-match=set:efi-x86_64,option:client-arch,9',
      'dhcp-match=set:bios,option:client-arch,0',
      'dhcp-userclass=set:ipxe,iPXE',
      'dhcp-match=set:ipxe,175',
      'dhcp-boot=tag:!ipxe,tag:bios,pxelinux.0,,10.77.0.1',
      'dhcp-boot=tag:!ipxe,tag:efi-x86_64,bootx64.efi,,10.77.0.1',
      'dhcp-boot=tag:ipxe,tag:efi-x86_64,http://10.77.0.1:8080/modules/clonage/boot/ipxe?mac=${net0/mac}',
      'dhcp-boot=tag:ipxe,tag:bios,http://10.77.0.1:8080/modules/clonage/boot/ipxe?mac=${net0/mac}',
      'dhcp-host=52:54:00:00:00:09,10.77.0.9,pc-09',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('boots UEFI iPXE clients on the script even when BIOS iPXE clients get pxelinux.0 (no ipxe.efi loop)', () => {
    const text = renderDnsmasqConfig(full, { inline: [] }, scriptForUefiOnly);
    expectGolden('dhcp/dnsmasq-script-uefi-only.conf', text);
    const boots = linesOf(text).filter((l) => l.startsWith('dhcp-boot='));
    expect(boots).toEqual([
      'dhcp-boot=tag:bios,pxelinux.0,,10.77.0.1',
      'dhcp-boot=tag:!ipxe,tag:efi-x86_64,bootx64.efi,,10.77.0.1',
      'dhcp-boot=tag:ipxe,tag:efi-x86_64,http://10.77.0.1:8080/modules/clonage/boot/ipxe?mac=${net0/mac}',
    ]);
  });

  it('gives no boot file to an architecture without a loader, and tags it for the log', () => {
    const text = renderDnsmasqConfig(full, { inline: [] }, uefiOnly);
    expectGolden('dhcp/dnsmasq-uefi-only.conf', text);
    expect(text).not.toContain('set:bios');
    expect(text).not.toContain('pxelinux.0');
    expect(linesOf(text)).toContain('tag-if=set:clonage-no-loader-for-arch,tag:pxe-client,tag:!efi-x86_64');
    const full2 = linesOf(renderDnsmasqConfig(full, { inline: [] }, withIpxe));
    expect(full2).toContain('tag-if=set:clonage-no-loader-for-arch,tag:pxe-client,tag:!bios,tag:!efi-x86_64');
  });

  it('is deterministic: input order does not matter, reservations sorted by address', () => {
    const a = renderDnsmasqConfig(full, { inline: reservations }, withIpxe);
    const b = renderDnsmasqConfig(full, { inline: [...reservations].reverse() }, withIpxe);
    expect(a).toBe(b);
    const hosts = a.split('\n').filter((l) => l.startsWith('dhcp-host='));
    expect(hosts.map((l) => l.split(',')[1])).toEqual(['10.77.0.9', '10.77.0.10', '10.77.0.210']);
    expect(renderDnsmasqHosts(reservations).split('\n').slice(1, 4)).toEqual(hosts.map((l) => l.slice('dhcp-host='.length)));
  });

  it('refuses a name dnsmasq would read as a lease time, even if it got past the store', () => {
    expect(() => dnsmasqHostEntry(res('52:54:00:00:00:01', '10.77.0.5', '12h'))).toThrow(InputError);
  });
});

describe('ISC dhcpd renderer (golden only: dhcpd is not installed)', () => {
  it('renders the full configuration', () => {
    const text = renderIscDhcpdConfig(full, reservations, withIpxe);
    expectGolden('dhcp/dhcpd-full.conf', text);
    expect(text).toContain('next-server 10.77.0.1;');
    expect(text).toContain('option arch code 93 = unsigned integer 16;');
    expect(text).toContain('if exists user-class and option user-class = "iPXE" and (option arch = 00:00) {');
    expect(text).toContain('host pc-09 { hardware ethernet 52:54:00:00:00:09; fixed-address 10.77.0.9; }');
  });

  it('renders static-only without PXE, and PXE without iPXE', () => {
    expectGolden('dhcp/dhcpd-static-no-pxe.conf', renderIscDhcpdConfig(staticOnly, [], null));
    const text = renderIscDhcpdConfig(full, reservations, withoutIpxe);
    expectGolden('dhcp/dhcpd-no-ipxe.conf', text);
    expect(text).not.toContain('user-class');
  });

  it('sends UEFI iPXE to the script when BIOS iPXE loads pxelinux.0, logs an architecture without a loader', () => {
    const text = renderIscDhcpdConfig(full, [], scriptForUefiOnly);
    expectGolden('dhcp/dhcpd-script-uefi-only.conf', text);
    expect(text).toContain('if exists user-class and option user-class = "iPXE" and (option arch = 00:07 or option arch = 00:09) {');
    expect(text).not.toMatch(/iPXE" and \(option arch = 00:00\)/);
    expect(text).toContain('} elsif exists arch {\n  log (info, concat("clonage: no boot loader for client architecture "');
    const noBios = renderIscDhcpdConfig(full, [], uefiOnly);
    expectGolden('dhcp/dhcpd-uefi-only.conf', noBios);
    expect(noBios).not.toContain('00:00');
  });
});
