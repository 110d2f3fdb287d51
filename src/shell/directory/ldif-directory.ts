/**
 * A read-only Directory built from an LDIF snapshot (slapcat output or a fixture), for the
 * standalone shell and for tests: same answers as LdapDirectory on the same data, no server.
 */
import { readFile } from 'node:fs/promises';
import type { Directory, DirectoryComputer, DirectoryParc, Right } from '../../host/contract';
import { InputError } from '../../common/domain/errors';
import type { Authenticator } from './authenticator';
import { normaliseDn } from './dn';
import { parseLdif } from './ldif';
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
import { burnPasswordCheck, verifyUserPassword } from './password';

export interface LdifDirectoryOptions {
  /** Defaults to the DN of the first entry in the file (slapcat and SE3 dumps start with the base). */
  readonly baseDn?: string;
  /** Branches relative to the base; SE3's defaults (ou=People, ou=Computers…) otherwise. */
  readonly branches?: Partial<DirectoryBranches>;
}

export class LdifDirectory implements Directory, Authenticator {
  readonly layout: DirectoryLayout;
  private readonly byDn = new Map<string, RawEntry>();
  private readonly computers = new Map<string, DirectoryComputer>();
  private readonly parcs: DirectoryParc[] = [];
  private readonly rights: RawEntry[] = [];

  /** @throws LdifError (an InputError) with the line number when the text is not valid LDIF. */
  constructor(ldifText: string, options: LdifDirectoryOptions = {}) {
    const entries = parseLdif(ldifText);
    const baseDn = options.baseDn ?? entries[0]?.dn;
    if (!baseDn) throw new InputError('LDIF: no entries, and no base DN given', 'ldif');
    this.layout = makeLayout(baseDn, options.branches);
    for (const e of entries) this.byDn.set(normaliseDn(e.dn), e);
    // The snapshot never changes, so everything is mapped once, here.
    for (const e of entries) {
      if (isComputerEntry(e, this.layout)) {
        const c = toComputer(e);
        this.computers.set(c.name, c);
      } else if (isParcEntry(e, this.layout)) this.parcs.push(toParc(e, this.layout));
      else if (isRightEntry(e, this.layout)) this.rights.push(e);
    }
    byName(this.parcs);
  }

  static async fromFile(path: string, options: LdifDirectoryOptions = {}): Promise<LdifDirectory> {
    return new LdifDirectory(await readFile(path, 'utf8'), options);
  }

  async listParcs(): Promise<DirectoryParc[]> {
    return [...this.parcs];
  }

  async getParc(name: string): Promise<DirectoryParc | null> {
    const n = name.trim().toLowerCase();
    return this.parcs.find((p) => p.name.toLowerCase() === n) ?? null;
  }

  async listComputers(): Promise<DirectoryComputer[]> {
    return byName([...this.computers.values()]);
  }

  async getComputer(name: string): Promise<DirectoryComputer | null> {
    return this.computers.get(name.trim().toLowerCase()) ?? null;
  }

  async computersInParc(parc: string): Promise<DirectoryComputer[]> {
    const p = await this.getParc(parc);
    return p ? computersOfParc(p, this.computers.values()) : [];
  }

  async rightHolders(right: Right): Promise<string[]> {
    const entry = this.rights.find((e) => hasName(e, right));
    if (!entry) return [];
    return resolveRightHolders(values(entry, 'member'), this.layout, async (dn) => this.byDn.get(normaliseDn(dn)) ?? null);
  }

  async authenticate(login: string, password: string): Promise<boolean> {
    if (!isValidLogin(login) || typeof password !== 'string' || password === '') return false;
    const user = this.byDn.get(normaliseDn(userDn(login, this.layout)));
    const stored = user ? values(user, 'userpassword') : [];
    if (stored.length === 0) {
      burnPasswordCheck(password); // an unknown login costs as much as a wrong password
      return false;
    }
    // Every value is checked (no early exit), so timing does not tell which one matched.
    return stored.map((s) => verifyUserPassword(s, password)).includes(true);
  }
}
