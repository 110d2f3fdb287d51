/**
 * The generated dnsmasq configuration checked by the real program: `dnsmasq --test` parses every
 * line with dnsmasq's own option parser (it does not read the dhcp-hostsfile, so the hosts lines
 * are checked here through their inline `dhcp-host=` form, which is the same syntax).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Hostname } from '../../src/common/domain/hostname';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import type { DhcpReservation } from '../../src/host/contract';
import { parseConfigPath, parseDhcpSettings, parsePxeBootOptions, type DhcpSettings, type ValidPxeBoot } from '../../src/shell/dhcp/dhcp-config';
import { renderDnsmasqConfig, renderDnsmasqHosts } from '../../src/shell/dhcp/dnsmasq-renderer';

const DNSMASQ = '/usr/sbin/dnsmasq';
const run = promisify(execFile);
const haveDnsmasq = fs.existsSync(DNSMASQ);
const d = haveDnsmasq ? describe : describe.skip;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-dnsmasq-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function dnsmasqTest(name: string, text: string): Promise<{ ok: boolean; output: string }> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  try {
    const { stdout, stderr } = await run(DNSMASQ, ['--test', `--conf-file=${file}`], { timeout: 10_000 });
    return { ok: true, output: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''} (exit ${err.code})` };
  }
}

function manyReservations(n: number): DhcpReservation[] {
  // 10.77.0.0/23 minus the .100-.199 dynamic range leaves room for 200 and more
  return Array.from({ length: n }, (_, i) => {
    const v = i < 99 ? i + 1 : i + 101;
    return {
      mac: Mac.parse(`52:54:00:12:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`),
      ip: Ipv4.fromNumber(Ipv4.parse('10.77.0.0').value + v),
      name: Hostname.parse(`pc-${String(i).padStart(3, '0')}`),
    };
  });
}

const dynamic = parseDhcpSettings({
  interface: 'br0', subnet: '10.77.0.0/23', gateway: '10.77.1.254', dnsServers: ['10.77.0.2', '9.9.9.9'],
  dynamicRange: { start: '10.77.0.100', end: '10.77.0.199' }, leaseTime: '12h', domainName: 'college.lan',
});
const staticOnly = parseDhcpSettings({ interface: 'eth1', subnet: '10.77.0.0/23', dynamicRange: null, leaseTime: '45m' });
const pxe = parsePxeBootOptions({
  nextServer: Ipv4.parse('10.77.0.1'), biosBootFile: 'pxelinux.0', efiX64BootFile: 'efi64/syslinux.efi',
  ipxeScriptUrl: 'http://10.77.0.1:8080/modules/clonage/boot/ipxe?mac=${net0/mac}&arch=${buildarch}',
});
const pxeNoIpxe = parsePxeBootOptions({ ...pxe, ipxeScriptUrl: null });
const pxeUefiOnly = parsePxeBootOptions({ ...pxe, biosBootFile: null, ipxeScriptForBios: false });

d('dnsmasq --test accepts what we generate', () => {
  const cases: [string, DhcpSettings, ValidPxeBoot | null, number][] = [];
  for (const [sName, s] of [['dynamic', dynamic], ['static', staticOnly]] as const) {
    for (const [pName, p] of [['pxe', pxe], ['pxe-no-ipxe', pxeNoIpxe], ['pxe-uefi-only', pxeUefiOnly], ['no-pxe', null]] as const) {
      for (const n of [0, 200]) cases.push([`${sName}-${pName}-${n}`, s, p, n]);
    }
  }

  it.each(cases)('%s', async (name, settings, p, n) => {
    const text = renderDnsmasqConfig(settings, { inline: manyReservations(n) }, p);
    expect(text.split('\n').filter((l) => l.startsWith('dhcp-host=')).length).toBe(n);
    const res = await dnsmasqTest(`${name}.conf`, text);
    expect(res.output).toContain('syntax check OK');
    expect(res.ok).toBe(true);
  });

  it('accepts the hosts-file variant, and the hosts lines as dhcp-host options', async () => {
    const hostsFile = path.join(dir, 'reservations.hosts');
    const rs = manyReservations(200);
    fs.writeFileSync(hostsFile, renderDnsmasqHosts(rs));
    const main = await dnsmasqTest('main.conf', renderDnsmasqConfig(dynamic, { file: parseConfigPath(hostsFile, 'hostsPath') }, pxe));
    expect(main.output).toContain('syntax check OK');
    const asOptions = renderDnsmasqHosts(rs).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => `dhcp-host=${l}`);
    expect(asOptions).toHaveLength(200);
    const hosts = await dnsmasqTest('hosts-as-options.conf', `port=0\n${asOptions.join('\n')}\n`);
    expect(hosts.output).toContain('syntax check OK');
  });

  it.each([
    ['a bad address in dhcp-range', (t: string) => t.replace('dhcp-range=10.77.0.100', 'dhcp-range=10.77.0.300')],
    ['an unknown option', (t: string) => `${t}dhcp-bootfile=pxelinux.0\n`],
    ['a bad MAC in dhcp-host', (t: string) => t.replace(/dhcp-host=52:54:00:12:00:00/, 'dhcp-host=52:54:00:12:00:zz')],
    ['a bad client-arch match', (t: string) => t.replace('option:client-arch,7', 'option:no-such-option,7')],
  ])('rejects a hand-broken config: %s', async (_label, breakIt) => {
    const good = renderDnsmasqConfig(dynamic, { inline: manyReservations(3) }, pxe);
    const broken = breakIt(good);
    expect(broken).not.toBe(good);
    const res = await dnsmasqTest('broken.conf', broken);
    expect(res.ok).toBe(false);
    expect(res.output).not.toContain('syntax check OK');
    expect(res.output).toMatch(/at line \d+ of /);
  });
});
