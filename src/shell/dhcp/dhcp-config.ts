/**
 * Validated settings and value types for the shell's DHCP module.
 *
 * Every value that a renderer interpolates into a dnsmasq or ISC dhcpd file is one of the types
 * below (or Mac/Ipv4/Hostname), and each is only obtainable through a parse function that rejects
 * newlines, commas, quotes, '#' and anything else with a meaning in those file formats. The
 * renderers can then stay simple string builders without any escaping.
 */
import path from 'node:path';
import { InputError } from '../../common/domain/errors';
import { shellMsg } from '../i18n/shell-messages';
import { Ipv4, Ipv4Subnet } from '../../common/domain/ipv4';
import type { Hostname } from '../../common/domain/hostname';
import type { PxeBootOptions } from '../../host/contract';

/** Brands make "validated" visible to the compiler: a plain string cannot be passed by mistake. */
type Brand<T, B extends string> = T & { readonly __brand: B };
export type InterfaceName = Brand<string, 'InterfaceName'>;
/** dnsmasq lease-time syntax restricted to `<n>[smhdw]`, between 2 minutes and 1 year. */
export type LeaseTime = Brand<string, 'LeaseTime'>;
export type DomainName = Brand<string, 'DomainName'>;
/** A TFTP path as it goes into the BOOTP `file` field. */
export type BootFile = Brand<string, 'BootFile'>;
/** The iPXE script URL: http(s), no character with a meaning in dnsmasq or dhcpd syntax. */
export type ScriptUrl = Brand<string, 'ScriptUrl'>;
/** An absolute file path that can be written unquoted into a dnsmasq config line. */
export type ConfigPath = Brand<string, 'ConfigPath'>;

export interface DhcpRange {
  readonly start: Ipv4;
  readonly end: Ipv4;
}

export interface DhcpSettings {
  readonly interface: InterfaceName;
  readonly subnet: Ipv4Subnet;
  readonly gateway?: Ipv4;
  readonly dnsServers: readonly Ipv4[];
  /** null: static-only, only reserved machines get an address (dnsmasq `dhcp-range=…,static`). */
  readonly dynamicRange: DhcpRange | null;
  readonly leaseTime: LeaseTime;
  readonly domainName?: DomainName;
}

/** PxeBootOptions (contract) after validation: what the renderers accept. */
export interface ValidPxeBoot {
  readonly nextServer: Ipv4;
  readonly biosBootFile: BootFile | null;
  readonly efiX64BootFile: BootFile | null;
  readonly ipxeScriptUrl: ScriptUrl | null;
  /** Only meaningful with a script URL (see PxeBootOptions). */
  readonly ipxeScriptForBios: boolean;
}

/**
 * Client architectures (DHCP option 93, RFC 4578 and the IANA registry) we have a boot file field
 * for. Any other architecture (IA32 UEFI 6, ARM 10/11, UEFI HTTP boot 16...) gets no boot file:
 * a loader of another architecture would only fail on the PC, later and less clearly.
 */
export const PXE_ARCHES = [
  { tag: 'bios', codes: [0], file: 'biosBootFile', label: 'BIOS' },
  { tag: 'efi-x86_64', codes: [7, 9], file: 'efiX64BootFile', label: 'x86-64 UEFI' },
] as const;
export type PxeArch = (typeof PXE_ARCHES)[number];

/** Which arch entries get the iPXE script when the client is iPXE (see PxeBootOptions.ipxeScriptForBios). */
export function ipxeGetsScript(p: ValidPxeBoot, arch: PxeArch): boolean {
  return p.ipxeScriptUrl !== null && (arch.tag !== 'bios' || p.ipxeScriptForBios);
}

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function parseInterfaceName(input: unknown, field = 'interface'): InterfaceName {
  // Linux IFNAMSIZ is 16 including the NUL; '.' and '..' are not names the kernel accepts.
  if (typeof input !== 'string' || !/^[a-zA-Z0-9_.-]{1,15}$/.test(input) || input === '.' || input === '..') {
    throw new InputError(`${field}: expected a network interface name (1 to 15 of a-z A-Z 0-9 _ . -)`, field);
  }
  return input as InterfaceName;
}

export function parseLeaseTime(input: unknown, field = 'leaseTime'): LeaseTime {
  const m = typeof input === 'string' ? /^([1-9][0-9]{0,7})([smhdw]?)$/.exec(input) : null;
  if (!m) throw new InputError(`${field}: expected a lease time like 45m, 12h or 1d`, field);
  const seconds = Number(m[1]) * SECONDS[m[2] || 's'];
  // dnsmasq raises anything shorter to 2 minutes; a year bounds typos and fits dhcpd's int32.
  if (seconds < 120 || seconds > 365 * 86400) throw new InputError(`${field}: must be between 2m and 365d`, field);
  return input as LeaseTime;
}

export function leaseSeconds(lease: LeaseTime): number {
  const m = /^(\d+)([smhdw]?)$/.exec(lease)!;
  return Number(m[1]) * SECONDS[m[2] || 's'];
}

export function parseDomainName(input: unknown, field = 'domainName'): DomainName {
  const s = typeof input === 'string' ? input.trim().toLowerCase() : '';
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  if (!s || s.length > 253 || !s.split('.').every((l) => label.test(l))) {
    throw new InputError(`${field}: expected a DNS domain such as college.lan`, field);
  }
  return s as DomainName;
}

export function parseBootFile(input: unknown, field: string): BootFile {
  // 127 bytes: the BOOTP `file` field is 128 bytes including the NUL. No '..': TFTP servers
  // differ on whether they let it escape their root, so we never ask for it.
  if (typeof input !== 'string' || !/^[A-Za-z0-9_+-][A-Za-z0-9._+/-]{0,126}$/.test(input) || input.split('/').some((s) => s === '..' || s === '')) {
    throw new InputError(`${field}: expected a relative TFTP path (letters, digits, . _ + - /, at most 127 characters)`, field);
  }
  return input as BootFile;
}

export function parseScriptUrl(input: unknown, field = 'ipxeScriptUrl'): ScriptUrl {
  // Allowed: URL characters plus ${…} for iPXE settings. Excluded on purpose: ',' (dnsmasq field
  // separator), '#' (comment), '"' and '\' (quoting in both formats), whitespace and controls.
  if (typeof input !== 'string' || input.length > 127 || !/^https?:\/\/[A-Za-z0-9._~:/?&=%+@!$'()*;{}[\]-]+$/.test(input)) {
    throw new InputError(`${field}: expected an http(s) URL of at most 127 characters without spaces, commas, quotes or '#'`, field);
  }
  return input as ScriptUrl;
}

export function parseConfigPath(input: unknown, field: string): ConfigPath {
  if (typeof input !== 'string' || !/^\/[A-Za-z0-9._+@/-]*$/.test(input) || path.normalize(input) !== input || input.endsWith('/')) {
    throw new InputError(`${field}: expected a normalised absolute path of letters, digits and . _ + @ - /`, field);
  }
  return input as ConfigPath;
}

/**
 * A Hostname is a valid machine name, but dnsmasq reads some of them as something else in a
 * `dhcp-host` line: "infinite" and "12h" as lease times, "ignore" as "refuse this machine".
 */
export function checkDhcpHostname(name: Hostname, field = 'name'): Hostname {
  if (/^\d+[smhdw]$/.test(name.value) || name.value === 'infinite' || name.value === 'ignore') {
    throw new InputError(`${field}: "${name.value}" would be read by the DHCP server as an option, choose another name`, field, shellMsg('dhcp.error.optionName', { name: name.value }));
  }
  return name;
}

function record(input: unknown, field: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InputError(`${field}: expected an object`, field);
  return input as Record<string, unknown>;
}

/** Parses the DHCP section of the shell configuration. Unknown keys (configFile, pidFile…) are the shell's. */
export function parseDhcpSettings(input: unknown): DhcpSettings {
  const o = record(input, 'dhcp');
  const subnet = Ipv4Subnet.parse(o.subnet, 'subnet');
  const host = (v: unknown, field: string): Ipv4 => {
    const ip = Ipv4.parse(v, field);
    if (!subnet.isHost(ip)) throw new InputError(`${field}: ${ip} is not a host address of ${subnet}`, field);
    return ip;
  };
  const gateway = o.gateway === undefined || o.gateway === null ? undefined : host(o.gateway, 'gateway');

  let dynamicRange: DhcpRange | null = null;
  if (o.dynamicRange !== undefined && o.dynamicRange !== null) {
    const r = record(o.dynamicRange, 'dynamicRange');
    const start = host(r.start, 'dynamicRange.start');
    const end = host(r.end, 'dynamicRange.end');
    if (start.value > end.value) throw new InputError('dynamicRange: start is after end', 'dynamicRange');
    if (gateway && gateway.value >= start.value && gateway.value <= end.value) {
      throw new InputError(`gateway: ${gateway} is inside the dynamic range`, 'gateway');
    }
    dynamicRange = { start, end };
  }

  const rawDns = o.dnsServers ?? [];
  if (!Array.isArray(rawDns) || rawDns.length > 8) throw new InputError('dnsServers: expected a list of at most 8 addresses', 'dnsServers');
  const dnsServers = rawDns.map((v, i) => Ipv4.parse(v, `dnsServers[${i}]`));
  dnsServers.forEach((ip, i) => {
    // dnsmasq reads 0.0.0.0 as "this server", which is not a DNS server here (port=0).
    if (ip.value === 0 || ip.value === 0xffffffff) throw new InputError(`dnsServers[${i}]: ${ip} is not a server`, `dnsServers[${i}]`);
    if (dnsServers.findIndex((o2) => o2.equals(ip)) !== i) throw new InputError(`dnsServers[${i}]: ${ip} is listed twice`, `dnsServers[${i}]`);
  });

  return {
    interface: parseInterfaceName(o.interface),
    subnet,
    ...(gateway ? { gateway } : {}),
    dnsServers,
    dynamicRange,
    leaseTime: parseLeaseTime(o.leaseTime ?? '12h'),
    ...(o.domainName === undefined || o.domainName === null || o.domainName === '' ? {} : { domainName: parseDomainName(o.domainName) }),
  };
}

/** Validates what a module passed to setPxeBoot: the contract types these fields as plain strings. */
export function parsePxeBootOptions(input: PxeBootOptions | Record<string, unknown>): ValidPxeBoot {
  const o = record(input, 'pxe');
  const ns = o.nextServer instanceof Ipv4 ? o.nextServer : Ipv4.parse(o.nextServer, 'nextServer');
  if (ns.value === 0 || ns.value === 0xffffffff) throw new InputError(`nextServer: ${ns} is not a server`, 'nextServer');
  return {
    nextServer: ns,
    biosBootFile: o.biosBootFile === null ? null : parseBootFile(o.biosBootFile, 'biosBootFile'),
    efiX64BootFile: o.efiX64BootFile === null ? null : parseBootFile(o.efiX64BootFile, 'efiX64BootFile'),
    ipxeScriptUrl: o.ipxeScriptUrl === null || o.ipxeScriptUrl === undefined ? null : parseScriptUrl(o.ipxeScriptUrl),
    ipxeScriptForBios: parseFlag(o.ipxeScriptForBios, true, 'ipxeScriptForBios'),
  };
}

export function pxeToJson(p: ValidPxeBoot): Record<string, string | boolean | null> {
  return {
    nextServer: p.nextServer.toString(),
    biosBootFile: p.biosBootFile,
    efiX64BootFile: p.efiX64BootFile,
    ipxeScriptUrl: p.ipxeScriptUrl,
    ipxeScriptForBios: p.ipxeScriptForBios,
  };
}

function parseFlag(v: unknown, fallback: boolean, field: string): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new InputError(`${field}: expected true or false`, field);
  return v;
}

/** True when ip is in the dynamic range (reservations must stay out of it). */
export function inDynamicRange(settings: Pick<DhcpSettings, 'dynamicRange'>, ip: Ipv4): boolean {
  const r = settings.dynamicRange;
  return r !== null && ip.value >= r.start.value && ip.value <= r.end.value;
}
