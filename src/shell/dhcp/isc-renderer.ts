/**
 * Pure rendering of an ISC dhcpd.conf equivalent to the dnsmasq one, for sites that keep
 * isc-dhcp-server (what SE3's makedhcpdconf produced). dhcpd is not installed where the tests
 * run, so this output is only checked against golden files, not by `dhcpd -t`.
 *
 * Interpolated values are validated types (dhcp-config.ts): none can contain '"', ';', '{' or a
 * newline, so quoting them is enough.
 */
import type { DhcpReservation } from '../../host/contract';
import { checkDhcpHostname, leaseSeconds, type DhcpSettings, type ValidPxeBoot } from './dhcp-config';
import { GENERATED_HEADER, sortByIp } from './dnsmasq-renderer';

export function renderIscDhcpdConfig(settings: DhcpSettings, reservations: readonly DhcpReservation[], pxe: ValidPxeBoot | null): string {
  const lease = leaseSeconds(settings.leaseTime);
  const s = settings.subnet;
  const lines = [
    GENERATED_HEADER,
    `# dhcpd listens where its command line says: interface ${settings.interface} (INTERFACESv4).`,
    'authoritative;',
    'ddns-update-style none;',
    `default-lease-time ${lease};`,
    `max-lease-time ${lease};`,
    'allow booting;',
    'allow bootp;',
    // Sends each host declaration's name as the client's host name (as SE3 did).
    'use-host-decl-names on;',
    '# Client system architecture (RFC 4578): 0 BIOS, 7 and 9 x86-64 UEFI.',
    'option arch code 93 = unsigned integer 16;',
    '',
    `subnet ${s.network} netmask ${s.netmask} {`,
    `  option subnet-mask ${s.netmask};`,
    `  option broadcast-address ${s.broadcast};`,
    ...(settings.gateway ? [`  option routers ${settings.gateway};`] : []),
    ...(settings.dnsServers.length > 0 ? [`  option domain-name-servers ${settings.dnsServers.join(', ')};`] : []),
    ...(settings.domainName ? [`  option domain-name "${settings.domainName}";`] : []),
    ...(settings.dynamicRange ? [`  range ${settings.dynamicRange.start} ${settings.dynamicRange.end};`] : ['  # static only: no range, reserved hosts only']),
    '}',
    ...(pxe ? ['', ...pxeLines(pxe)] : []),
    '',
    `# Reservations (${reservations.length}).`,
    ...sortByIp(reservations).map(hostBlock),
  ];
  return `${lines.join('\n')}\n`;
}

function pxeLines(p: ValidPxeBoot): string[] {
  const efi = 'option arch = 00:07 or option arch = 00:09';
  const lines = [`next-server ${p.nextServer};`];
  if (p.ipxeScriptUrl !== null) {
    // iPXE identifies itself by user class: it gets the script, or it would chain-load itself forever.
    lines.push('if exists user-class and option user-class = "iPXE" {', `  filename "${p.ipxeScriptUrl}";`, `} elsif ${efi} {`);
  } else {
    lines.push(`if ${efi} {`);
  }
  lines.push(`  filename "${p.efiX64BootFile}";`, '} elsif option arch = 00:00 {', `  filename "${p.biosBootFile}";`, '}');
  return lines;
}

function hostBlock(r: DhcpReservation): string {
  checkDhcpHostname(r.name);
  return `host ${r.name} { hardware ethernet ${r.mac}; fixed-address ${r.ip}; }`;
}
