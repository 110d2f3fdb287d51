/**
 * Directory over a real LDAP server (the SE3 slapd), with ldapts.
 *
 * One connection per operation: the module asks the directory a few times per page, a school
 * server is on the LAN, and a connection that is never kept cannot go stale after a slapd
 * restart. Names from users only ever reach the server inside filter objects (EqualityFilter
 * sends the value as raw BER, so `*)(uid=*` is just a strange name) or, for the bind DN, after
 * passing the strict login pattern.
 */
import {
  AndFilter,
  Client,
  EqualityFilter,
  type Entry,
  type Filter,
  InvalidCredentialsError,
  InvalidDNSyntaxError,
  NoSuchObjectError,
  OrFilter,
  PresenceFilter,
} from 'ldapts';
import type { Directory, DirectoryComputer, DirectoryParc, Right } from '../../host/contract';
import { ClonageError } from '../../common/domain/errors';
import type { Authenticator } from './authenticator';
import {
  byName,
  computersOfParc,
  type DirectoryBranches,
  type DirectoryLayout,
  hasName,
  isComputerEntry,
  isParcEntry,
  isRightEntry,
  isValidLogin,
  makeLayout,
  type RawEntry,
  resolveRightHolders,
  toComputer,
  toParc,
  userDn,
  values,
} from './mapping';

export interface LdapDirectoryConfig {
  /** ldap://host:389 or ldaps://host:636 */
  readonly url: string;
  /** e.g. dc=lycee,dc=ac-test,dc=fr */
  readonly baseDn: string;
  /** Reads are anonymous without it (SE3's slapd allows anonymous reads of these branches). */
  readonly bindDn?: string;
  readonly bindPassword?: string;
  readonly branches?: Partial<DirectoryBranches>;
  /** Per connect and per request; default 5000. */
  readonly timeoutMs?: number;
}

/** The directory server could not be reached or refused a read: not the user's fault. */
export class DirectoryUnavailableError extends ClonageError {}

const COMPUTER_ATTRS = ['cn', 'objectClass', 'ipHostNumber', 'macAddress', 'description'];
const GROUP_ATTRS = ['cn', 'objectClass', 'member', 'uniqueMember', 'memberUid'];
/** Paged searches, so a big lycée is not cut at slapd's default sizelimit of 500. */
const PAGE = { pageSize: 400 };
/** Keeps one request's OR filter reasonable; a parc larger than this is fetched in slices. */
const OR_CHUNK = 100;
const ANY = new PresenceFilter({ attribute: 'objectClass' });

export class LdapDirectory implements Directory, Authenticator {
  readonly layout: DirectoryLayout;
  private closed = false;

  constructor(private readonly config: LdapDirectoryConfig) {
    this.layout = makeLayout(config.baseDn, config.branches);
  }

  async listParcs(): Promise<DirectoryParc[]> {
    const entries = await this.read((c) => this.search(c, this.layout.dn.parcs, eq('objectClass', 'groupOfNames'), GROUP_ATTRS));
    return byName(entries.filter((e) => isParcEntry(e, this.layout)).map((e) => toParc(e, this.layout)));
  }

  async getParc(name: string): Promise<DirectoryParc | null> {
    return this.read((c) => this.parcOn(c, name));
  }

  async listComputers(): Promise<DirectoryComputer[]> {
    const entries = await this.read((c) => this.search(c, this.layout.dn.computers, ANY, COMPUTER_ATTRS));
    return byName(entries.filter((e) => isComputerEntry(e, this.layout)).map(toComputer));
  }

  async getComputer(name: string): Promise<DirectoryComputer | null> {
    const entries = await this.read((c) => this.search(c, this.layout.dn.computers, eq('cn', name.trim()), COMPUTER_ATTRS));
    const e = entries.find((x) => isComputerEntry(x, this.layout) && hasName(x, name));
    return e ? toComputer(e) : null;
  }

  async computersInParc(parc: string): Promise<DirectoryComputer[]> {
    return this.read(async (c) => {
      const p = await this.parcOn(c, parc);
      if (!p || p.members.length === 0) return [];
      const found: RawEntry[] = [];
      for (let i = 0; i < p.members.length; i += OR_CHUNK) {
        const names = p.members.slice(i, i + OR_CHUNK).map((m) => eq('cn', m));
        found.push(...(await this.search(c, this.layout.dn.computers, new OrFilter({ filters: names }), COMPUTER_ATTRS)));
      }
      return computersOfParc(p, found.filter((e) => isComputerEntry(e, this.layout)).map(toComputer));
    });
  }

  async rightHolders(right: Right): Promise<string[]> {
    return this.read(async (c) => {
      const filter = new AndFilter({ filters: [eq('objectClass', 'groupOfNames'), eq('cn', right.trim())] });
      const entries = await this.search(c, this.layout.dn.rights, filter, GROUP_ATTRS);
      const entry = entries.find((e) => isRightEntry(e, this.layout) && hasName(e, right));
      if (!entry) return [];
      return resolveRightHolders(values(entry, 'member'), this.layout, async (dn) => {
        // A member value that is not even a DN is skipped, like a member that does not exist.
        const found = await this.search(c, dn, ANY, GROUP_ATTRS, 'base').catch((err: unknown) => {
          if (err instanceof InvalidDNSyntaxError) return [];
          throw err;
        });
        return found[0] ?? null;
      });
    });
  }

  async authenticate(login: string, password: string): Promise<boolean> {
    // An empty password would be an "unauthenticated bind" (RFC 4513 5.1.2), which some servers
    // answer with success: refuse it here, never ask.
    if (!isValidLogin(login) || typeof password !== 'string' || password === '') return false;
    if (this.closed) throw new DirectoryUnavailableError('LDAP directory is closed');
    const client = this.client();
    try {
      await client.bind(userDn(login, this.layout), password);
      return true;
    } catch (err) {
      // slapd answers 49 for both a wrong password and an unknown uid, which is what we want.
      if (err instanceof InvalidCredentialsError) return false;
      throw unavailable(this.config.url, err);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** Nothing is held between operations; close() only refuses further use. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private client(): Client {
    const timeout = this.config.timeoutMs ?? 5000;
    return new Client({ url: this.config.url, timeout, connectTimeout: timeout });
  }

  /** Runs `op` on a fresh connection, bound as the service account if one is configured. */
  private async read<T>(op: (c: Client) => Promise<T>): Promise<T> {
    if (this.closed) throw new DirectoryUnavailableError('LDAP directory is closed');
    const client = this.client();
    try {
      if (this.config.bindDn) await client.bind(this.config.bindDn, this.config.bindPassword ?? '');
      return await op(client);
    } catch (err) {
      throw unavailable(this.config.url, err);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private async parcOn(c: Client, name: string): Promise<DirectoryParc | null> {
    const filter = new AndFilter({ filters: [eq('objectClass', 'groupOfNames'), eq('cn', name.trim())] });
    const entries = await this.search(c, this.layout.dn.parcs, filter, GROUP_ATTRS);
    const e = entries.find((x) => isParcEntry(x, this.layout) && hasName(x, name));
    return e ? toParc(e, this.layout) : null;
  }

  /** A missing branch (no ou=Parcs yet on a fresh server) is an empty list, not an outage. */
  private async search(c: Client, base: string, filter: Filter, attributes: string[], scope: 'one' | 'base' = 'one'): Promise<RawEntry[]> {
    try {
      const { searchEntries } = await c.search(base, { scope, filter, attributes, paged: scope === 'one' ? PAGE : false });
      return searchEntries.map(toRaw);
    } catch (err) {
      if (err instanceof NoSuchObjectError) return [];
      throw err;
    }
  }
}

/** `attr=value` as a filter object: the value is sent as-is, never parsed as filter syntax. */
function eq(attribute: string, value: string): Filter {
  return new EqualityFilter({ attribute, value });
}


function toRaw(e: Entry): RawEntry {
  const attrs = new Map<string, string[]>();
  for (const [k, v] of Object.entries(e)) {
    if (k === 'dn') continue;
    const list = (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
    attrs.set(k.toLowerCase(), [...(attrs.get(k.toLowerCase()) ?? []), ...list]);
  }
  return { dn: e.dn, attrs };
}

function unavailable(url: string, err: unknown): Error {
  if (err instanceof DirectoryUnavailableError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new DirectoryUnavailableError(`LDAP directory ${url}: ${detail}`);
}
