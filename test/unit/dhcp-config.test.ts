import { InputError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import { Ipv4 } from '../../src/common/domain/ipv4';
import {
  checkDhcpHostname, leaseSeconds, parseBootFile, parseConfigPath, parseDhcpSettings, parseDomainName,
  parseInterfaceName, parseLeaseTime, parsePxeBootOptions, parseScriptUrl,
} from '../../src/shell/dhcp/dhcp-config';

const base = { interface: 'br0', subnet: '10.77.0.0/24', gateway: '10.77.0.254', dynamicRange: { start: '10.77.0.100', end: '10.77.0.199' } };

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).field;
  }
  throw new Error('expected an InputError');
}

describe('parseDhcpSettings', () => {
  it('accepts the shell defaults and fills lease time and DNS list', () => {
    const s = parseDhcpSettings({ ...base, gateway: null, configFile: '/var/x.conf', pidFile: null });
    expect(s.interface).toBe('br0');
    expect(s.subnet.toString()).toBe('10.77.0.0/24');
    expect(s.gateway).toBeUndefined();
    expect(s.dnsServers).toEqual([]);
    expect(s.leaseTime).toBe('12h');
    expect(s.dynamicRange?.start.toString()).toBe('10.77.0.100');
    expect(s.domainName).toBeUndefined();
  });

  it('accepts a static-only network with DNS servers and a domain', () => {
    const s = parseDhcpSettings({ ...base, dynamicRange: null, dnsServers: ['10.77.0.2', '9.9.9.9'], domainName: 'College.LAN', leaseTime: '1d' });
    expect(s.dynamicRange).toBeNull();
    expect(s.dnsServers.map(String)).toEqual(['10.77.0.2', '9.9.9.9']);
    expect(s.domainName).toBe('college.lan');
  });

  it.each([
    [{ ...base, interface: 'eth0\nport=53' }, 'interface'],
    [{ ...base, interface: 'a-very-long-interface' }, 'interface'],
    [{ ...base, interface: '..' }, 'interface'],
    [{ ...base, subnet: '10.77.0.0' }, 'subnet'],
    [{ ...base, gateway: '10.78.0.1' }, 'gateway'],
    [{ ...base, gateway: '10.77.0.255' }, 'gateway'],
    [{ ...base, gateway: '10.77.0.150' }, 'gateway'],
    [{ ...base, dynamicRange: { start: '10.77.0.200', end: '10.77.0.100' } }, 'dynamicRange'],
    [{ ...base, dynamicRange: { start: '10.77.0.0', end: '10.77.0.100' } }, 'dynamicRange.start'],
    [{ ...base, dynamicRange: { start: '10.77.0.10', end: '10.77.1.1' } }, 'dynamicRange.end'],
    [{ ...base, dnsServers: ['0.0.0.0'] }, 'dnsServers[0]'],
    [{ ...base, dnsServers: ['1.1.1.1', '1.1.1.1'] }, 'dnsServers[1]'],
    [{ ...base, dnsServers: '1.1.1.1' }, 'dnsServers'],
    [{ ...base, leaseTime: '1m' }, 'leaseTime'],
    [{ ...base, leaseTime: 'infinite' }, 'leaseTime'],
    [{ ...base, domainName: 'lan\n#x' }, 'domainName'],
  ])('rejects %j with field %s', (input, field) => {
    expect(fieldOf(() => parseDhcpSettings(input))).toBe(field);
  });
});

describe('value parsers', () => {
  it('converts lease times to seconds', () => {
    expect(leaseSeconds(parseLeaseTime('12h'))).toBe(43200);
    expect(leaseSeconds(parseLeaseTime('120'))).toBe(120);
    expect(leaseSeconds(parseLeaseTime('2w'))).toBe(1209600);
    expect(() => parseLeaseTime('400d')).toThrow(InputError);
    expect(() => parseLeaseTime('012h')).toThrow(InputError);
  });

  it('accepts the usual boot files and URLs', () => {
    expect(parseBootFile('pxelinux.0', 'f')).toBe('pxelinux.0');
    expect(parseBootFile('efi64/syslinux.efi', 'f')).toBe('efi64/syslinux.efi');
    expect(parseScriptUrl('http://10.0.0.1:8080/modules/clonage/boot/ipxe?mac=${net0/mac}')).toContain('${net0/mac}');
    expect(parseInterfaceName('enp0s31f6.100')).toBe('enp0s31f6.100');
    expect(parseDomainName('a.b-c.fr')).toBe('a.b-c.fr');
    expect(parseConfigPath('/var/lib/clonage/dnsmasq.conf', 'p')).toBe('/var/lib/clonage/dnsmasq.conf');
  });

  // Each of these would change the meaning of a generated dnsmasq/dhcpd file if interpolated.
  it.each([
    ['boot file with newline', () => parseBootFile('pxelinux.0\ndhcp-range=1.2.3.4,static', 'biosBootFile')],
    ['boot file with comma', () => parseBootFile('pxelinux.0,evil', 'biosBootFile')],
    ['boot file with ..', () => parseBootFile('a/../../etc/passwd', 'biosBootFile')],
    ['boot file absolute', () => parseBootFile('/pxelinux.0', 'biosBootFile')],
    ['boot file too long', () => parseBootFile('a'.repeat(128), 'biosBootFile')],
    ['URL with newline', () => parseScriptUrl('http://x/a\ndhcp-boot=evil')],
    ['URL with quote', () => parseScriptUrl('http://x/a";filename "evil')],
    ['URL with #', () => parseScriptUrl('http://x/a #comment')],
    ['URL with comma', () => parseScriptUrl('http://x/a,,1.2.3.4')],
    ['URL not http', () => parseScriptUrl('tftp://x/a')],
    ['URL too long', () => parseScriptUrl(`http://x/${'a'.repeat(120)}`)],
    ['path relative', () => parseConfigPath('var/dnsmasq.conf', 'p')],
    ['path with space', () => parseConfigPath('/var/my dir/x.conf', 'p')],
    ['path with ..', () => parseConfigPath('/var/../etc/x.conf', 'p')],
    ['path with newline', () => parseConfigPath('/var/x\nport=53', 'p')],
  ])('rejects %s', (_label, fn) => {
    expect(fn).toThrow(InputError);
  });

  it('rejects host names that dnsmasq reads as lease times or keywords', () => {
    for (const n of ['12h', '45m', '1w', '3600s', 'infinite', 'ignore']) {
      expect(fieldOf(() => checkDhcpHostname(Hostname.parse(n)))).toBe('name');
    }
    expect(checkDhcpHostname(Hostname.parse('h12')).value).toBe('h12');
  });
});

describe('parsePxeBootOptions', () => {
  const ok = { nextServer: Ipv4.parse('10.77.0.1'), biosBootFile: 'pxelinux.0', efiX64BootFile: 'efi64/syslinux.efi', ipxeScriptUrl: null };

  it('keeps valid options and accepts a string next-server from stored JSON', () => {
    expect(parsePxeBootOptions(ok).nextServer.toString()).toBe('10.77.0.1');
    expect(parsePxeBootOptions({ ...ok, nextServer: '10.77.0.2' }).nextServer.toString()).toBe('10.77.0.2');
  });

  it.each([
    [{ ...ok, nextServer: '0.0.0.0' }, 'nextServer'],
    [{ ...ok, nextServer: 'tftp' }, 'nextServer'],
    [{ ...ok, biosBootFile: 'a b' }, 'biosBootFile'],
    [{ ...ok, efiX64BootFile: '' }, 'efiX64BootFile'],
    [{ ...ok, ipxeScriptUrl: 'http://x/\n' }, 'ipxeScriptUrl'],
  ])('rejects %j', (input, field) => {
    expect(fieldOf(() => parsePxeBootOptions(input))).toBe(field);
  });
});
