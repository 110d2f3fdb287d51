/**
 * Pure rendering of an ISC dhcpd.conf equivalent to the dnsmasq one, for sites that keep
 * isc-dhcp-server (what SE3's makedhcpdconf produced). dhcpd is not installed where the tests
 * run, so this output is only checked against golden files, not by `dhcpd -t`.
 *
 * Interpolated values are validated types (dhcp-config.ts): none can contain '"', ';', '{' or a
 * newline, so quoting them is enough.
 */
import type { DhcpReservation } from '../../host/contract';
import { checkDhcpHostname, ipxeGetsScript, leaseSeconds, PXE_ARCHES, type DhcpSettings, type PxeArch, type ValidPxeBoot } from './dhcp-config';
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
  const served = PXE_ARCHES.filter((a) => p[a.file] !== null);
  const archTest = (a: PxeArch) => a.codes.map((c) => `option arch = 00:${c.toString(16).padStart(2, '0')}`).join(' or ');
  const branches: [string, string][] = [];
  // iPXE identifies itself by user class: it gets the script, or it would chain-load itself forever.
  const ipxe = 'exists user-class and option user-class = "iPXE"';
  for (const a of served) if (ipxeGetsScript(p, a)) branches.push([`${ipxe} and (${archTest(a)})`, `filename "${p.ipxeScriptUrl}";`]);
  for (const a of served) branches.push([archTest(a), `filename "${p[a.file]}";`]);
  branches.push(['exists arch', 'log (info, concat("clonage: no boot loader for client architecture ", binary-to-ascii (10, 16, "", option arch)));']);
  const lines = [`next-server ${p.nextServer};`];
  branches.forEach(([cond, body], i) => lines.push(`${i === 0 ? 'if' : '} elsif'} ${cond} {`, `  ${body}`));
  lines.push('}');
  return lines;
}

function hostBlock(r: DhcpReservation): string {
  checkDhcpHostname(r.name);
  return `host ${r.name} { hardware ethernet ${r.mac}; fixed-address ${r.ip}; }`;
}
