/**
 * The one place that turns raw directory entries into DirectoryComputer / DirectoryParc / right
 * holders. LdifDirectory and LdapDirectory only fetch entries and call these functions, so the
 * two cannot disagree on what a computer, a parc member or a right holder is.
 */
import type { DirectoryComputer, DirectoryParc } from '../../host/contract';
import { Hostname } from '../../common/domain/hostname';
import { Ipv4 } from '../../common/domain/ipv4';
import { Mac } from '../../common/domain/mac';
import { firstRdn, joinDn, normaliseDn, parentDn } from './dn';

/** An entry as either source delivers it: attribute names lowercase, values as text. */
export interface RawEntry {
  readonly dn: string;
  readonly attrs: ReadonlyMap<string, readonly string[]>;
}

/** Branches relative to the base DN, as SE3 names them in its `*Rdn` params. */
export interface DirectoryBranches {
  readonly people: string;
  readonly groups: string;
  readonly computers: string;
  readonly parcs: string;
  readonly rights: string;
}

export const SE3_BRANCHES: DirectoryBranches = {
  people: 'ou=People',
  groups: 'ou=Groups',
  computers: 'ou=Computers',
  parcs: 'ou=Parcs',
  rights: 'ou=Rights',
};

/** Full DNs of the base and each branch, as given (for LDAP requests) and normalised (for comparing). */
export interface DirectoryLayout {
  readonly base: string;
  readonly dn: DirectoryBranches;
  readonly norm: DirectoryBranches;
}

export function makeLayout(baseDn: string, branches: Partial<DirectoryBranches> = {}): DirectoryLayout {
  const rel = { ...SE3_BRANCHES, ...branches };
  const keys = Object.keys(SE3_BRANCHES) as (keyof DirectoryBranches)[];
  const dn = Object.fromEntries(keys.map((k) => [k, joinDn(rel[k], baseDn)])) as unknown as DirectoryBranches;
  const norm = Object.fromEntries(keys.map((k) => [k, normaliseDn(dn[k])])) as unknown as DirectoryBranches;
  return { base: baseDn.trim(), dn, norm };
}

/** Logins as SE3 creates them; also what we accept before binding as `uid=<login>`. */
const LOGIN = /^[a-z0-9._-]{1,64}$/;

export function isValidLogin(login: unknown): login is string {
  return typeof login === 'string' && LOGIN.test(login);
}

export function values(e: RawEntry, attr: string): readonly string[] {
  return e.attrs.get(attr.toLowerCase()) ?? [];
}

function hasObjectClass(e: RawEntry, ...classes: string[]): boolean {
  const have = values(e, 'objectclass').map((c) => c.trim().toLowerCase());
  return classes.some((c) => have.includes(c));
}

/** `cn=<value>` directly under `branchNorm`, or null. The RDN is the entry's name in SE3. */
function cnUnder(dn: string, branchNorm: string): string | null {
  const rdn = firstRdn(dn);
  if (!rdn || rdn.type !== 'cn' || parentDn(dn) !== branchNorm) return null;
  return rdn.value.trim();
}

/**
 * ou=Computers also holds Samba machine accounts (`uid=pc01$`); only `cn=` entries with a host
 * object class are computers. ipHost is not required: it needs an ipHostNumber, and a computer
 * whose address is missing must still be listed, with a problem.
 */
export function isComputerEntry(e: RawEntry, layout: DirectoryLayout): boolean {
  return cnUnder(e.dn, layout.norm.computers) !== null && hasObjectClass(e, 'iphost', 'ieee802device', 'organizationalrole');
}

export function isParcEntry(e: RawEntry, layout: DirectoryLayout): boolean {
  return cnUnder(e.dn, layout.norm.parcs) !== null && hasObjectClass(e, 'groupofnames');
}

export function isRightEntry(e: RawEntry, layout: DirectoryLayout): boolean {
  return cnUnder(e.dn, layout.norm.rights) !== null && hasObjectClass(e, 'groupofnames');
}

/** Case-insensitive name match on the RDN value, the way LDAP matches cn. */
export function hasName(e: RawEntry, name: string): boolean {
  const rdn = firstRdn(e.dn);
  return rdn !== null && rdn.value.trim().toLowerCase() === name.trim().toLowerCase();
}

export function toComputer(e: RawEntry): DirectoryComputer {
  const name = (firstRdn(e.dn)?.value ?? '').trim().toLowerCase();
  const problems: string[] = [];
  if (!isHostname(name)) problems.push(`name "${name}" is not a valid machine name (1 to 15 letters, digits or '-')`);
  const mac = single(e, 'macAddress', 'MAC address', (v) => Mac.tryParse(v), problems);
  const ip = single(e, 'ipHostNumber', 'IP address', tryIpv4, problems);
  const description = values(e, 'description')[0]?.trim() || null;
  return { name, ip, mac, description, problems };
}

/** One valid value or null with a reason: a computer with two MACs cannot be cloned safely. */
function single<T extends { equals(o: T): boolean; toString(): string }>(
  e: RawEntry,
  attr: string,
  label: string,
  parse: (v: string) => T | null,
  problems: string[],
): T | null {
  const raw = values(e, attr);
  if (raw.length === 0) {
    problems.push(`no ${label} (${attr})`);
    return null;
  }
  const parsed: T[] = [];
  for (const v of raw) {
    const p = parse(v);
    if (p === null) {
      problems.push(`${label} "${clip(v)}" is not valid`);
      return null;
    }
    if (!parsed.some((q) => q.equals(p))) parsed.push(p);
  }
  if (parsed.length > 1) {
    problems.push(`several ${label}es: ${parsed.join(', ')}`);
    return null;
  }
  return parsed[0];
}

function isHostname(v: string): boolean {
  try {
    Hostname.parse(v);
    return true;
  } catch {
    return false;
  }
}

function tryIpv4(v: string): Ipv4 | null {
  try {
    return Ipv4.parse(v);
  } catch {
    return null;
  }
}

/**
 * Member names, lowercase, sorted, without duplicates. Only `cn=…,<computers>` members count:
 * SE3 parcs list computers, and a stray DN elsewhere is not a machine we could clone.
 */
export function toParc(e: RawEntry, layout: DirectoryLayout): DirectoryParc {
  const members = new Set<string>();
  for (const m of values(e, 'member')) {
    const name = cnUnder(m, layout.norm.computers);
    if (name) members.add(name.toLowerCase());
  }
  return { name: (firstRdn(e.dn)?.value ?? '').trim(), members: [...members].sort() };
}

/** The parc's members that exist, sorted by name (members are already lowercase names). */
export function computersOfParc(parc: DirectoryParc, computers: Iterable<DirectoryComputer>): DirectoryComputer[] {
  const wanted = new Set(parc.members);
  return byName([...computers].filter((c) => wanted.has(c.name)));
}

export function byName<T extends { name: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Fetches one entry by DN (objectClass, member, uniqueMember, memberUid at least), or null. */
export type FetchEntry = (dn: string) => Promise<RawEntry | null>;

/** Nested groups deeper than this are a configuration mistake, not something to follow. */
const MAX_GROUP_DEPTH = 8;

/**
 * Logins holding a right, given the right entry's `member` values — SE3's ldap_get_right:
 * a `uid=<login>,<people>` member, a posixGroup member (its memberUid), or a groupOfNames /
 * groupOfUniqueNames member (followed recursively; cycles stop at the first revisit).
 */
export async function resolveRightHolders(memberDns: readonly string[], layout: DirectoryLayout, fetch: FetchEntry): Promise<string[]> {
  const logins = new Set<string>();
  const visited = new Set<string>();
  const walk = async (dns: readonly string[], depth: number): Promise<void> => {
    for (const dn of dns) {
      const norm = normaliseDn(dn);
      if (norm === '' || visited.has(norm)) continue;
      visited.add(norm);
      const rdn = firstRdn(dn);
      if (rdn?.type === 'uid' && parentDn(dn) === layout.norm.people) {
        logins.add(rdn.value.trim().toLowerCase());
        continue;
      }
      if (depth >= MAX_GROUP_DEPTH) continue;
      const group = await fetch(dn);
      if (!group) continue;
      if (hasObjectClass(group, 'posixgroup')) values(group, 'memberuid').forEach((u) => logins.add(u.trim().toLowerCase()));
      if (hasObjectClass(group, 'groupofnames', 'groupofuniquenames')) {
        // uniqueMember may carry an optional UID suffix (`dn#'0101'B`, RFC 4517) that is not part of the DN.
        const unique = values(group, 'uniquemember').map((v) => v.replace(/#'[01]*'B$/, ''));
        await walk([...values(group, 'member'), ...unique], depth + 1);
      }
    }
  };
  await walk(memberDns, 0);
  return [...logins].filter(isValidLogin).sort();
}

/** The DN to bind as for `login`; only call with a login that passed isValidLogin (no DN escaping needed). */
export function userDn(login: string, layout: DirectoryLayout): string {
  return joinDn(`uid=${login}`, layout.dn.people);
}

function clip(v: string): string {
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}
