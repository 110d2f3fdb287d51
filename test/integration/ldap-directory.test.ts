/**
 * LdapDirectory against a real slapd loaded with the SE3 fixture: it must give exactly the
 * answers LdifDirectory gives for the same LDIF, and treat hostile names as plain text.
 */
import { join } from 'node:path';
import { DirectoryUnavailableError, LdapDirectory } from '../../src/shell/directory/ldap-directory';
import { LdifDirectory } from '../../src/shell/directory/ldif-directory';
import { type RunningSlapd, startSlapd } from '../helpers/slapd';

const FIXTURE = join(__dirname, '../fixtures/se3.ldif');
const BASE = 'dc=lycee,dc=ac-test,dc=fr';
const INJECTIONS = ['*', '*)(uid=*', '*)(|(cn=*', 's101-pc*', 'admin)(objectClass=*', '\\2a', 'cn=salle101,ou=Parcs'];

describe('LdapDirectory on a real slapd', () => {
  let slapd: RunningSlapd;
  let ldif: LdifDirectory;
  let anonymous: LdapDirectory;
  let bound: LdapDirectory;

  beforeAll(async () => {
    slapd = await startSlapd({ ldifPath: FIXTURE, baseDn: BASE });
    ldif = await LdifDirectory.fromFile(FIXTURE);
    anonymous = new LdapDirectory({ url: slapd.url, baseDn: BASE, timeoutMs: 3000 });
    bound = new LdapDirectory({ url: slapd.url, baseDn: BASE, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword });
  });

  afterAll(async () => {
    await anonymous?.close();
    await bound?.close();
    await slapd?.stop();
  });

  describe.each([
    ['anonymously', () => anonymous],
    ['bound as a service account', () => bound],
  ])('read %s', (_how, ldap) => {
    it('lists the same parcs and computers', async () => {
      expect(await ldap().listParcs()).toEqual(await ldif.listParcs());
      expect(await ldap().listComputers()).toEqual(await ldif.listComputers());
      expect(await ldap().listComputers()).toHaveLength(24);
    });

    it('finds each parc and computer the same way, whatever the case', async () => {
      for (const p of await ldif.listParcs()) {
        expect(await ldap().getParc(p.name.toUpperCase())).toEqual(p);
        expect(await ldap().computersInParc(p.name)).toEqual(await ldif.computersInParc(p.name));
      }
      for (const c of await ldif.listComputers()) expect(await ldap().getComputer(c.name.toUpperCase())).toEqual(c);
      expect((await ldap().computersInParc('atelier')).map((c) => c.name)).toEqual(['atelier-pc01', 'atelier-pc02']);
      expect(await ldap().getComputer('atelier-pc99')).toBeNull();
      expect(await ldap().getComputer('s101-pc01$')).toBeNull();
    });

    it.each(['system_is_admin', 'parc_can_clone', 'computers_is_admin', 'no_such_right'])('rightHolders(%s) agrees', async (right) => {
      expect(await ldap().rightHolders(right)).toEqual(await ldif.rightHolders(right));
    });

    it('resolves rights through direct, posixGroup and nested groupOfNames members', async () => {
      expect(await ldap().rightHolders('parc_can_clone')).toEqual(['admin', 'prof1', 'prof2', 'tech1']);
      expect(await ldap().rightHolders('computers_is_admin')).toEqual(['admin', 'prof2', 'tech1']);
    });

    it.each(INJECTIONS)('treats %j as a name, not filter syntax', async (evil) => {
      expect(await ldap().getParc(evil)).toBeNull();
      expect(await ldap().getComputer(evil)).toBeNull();
      expect(await ldap().computersInParc(evil)).toEqual([]);
      expect(await ldap().rightHolders(evil)).toEqual([]);
    });
  });

  it.each([
    ['admin', 'admin-test-pw'],
    ['prof1', 'prof1-test-pw'],
    ['tech1', 'tech1-test-pw'],
    ['eleve1', 'eleve1-test-pw'],
    ['admin', 'wrong'],
    ['admin', ''],
    ['prof2', 'anything'],
    ['prof2', ''],
    ['nobody', 'admin-test-pw'],
    ['*)(uid=*', 'admin-test-pw'],
    ['*', 'admin-test-pw'],
    ['admin,ou=People', 'admin-test-pw'],
    ['root', slapdRootPassword()],
  ])('authenticate(%j, %j) agrees with the LDIF directory', async (login, password) => {
    const expected = await ldif.authenticate(login, password);
    expect(await anonymous.authenticate(login, password)).toBe(expected);
    expect(await bound.authenticate(login, password)).toBe(expected);
  });

  it('accepts the fixture passwords and nothing else', async () => {
    expect(await anonymous.authenticate('admin', 'admin-test-pw')).toBe(true);
    expect(await anonymous.authenticate('admin', 'admin-test-pw ')).toBe(false);
    expect(await anonymous.authenticate('*)(uid=*', '*')).toBe(false);
  });

  it('reads a missing branch as empty, not as an outage', async () => {
    const d = new LdapDirectory({ url: slapd.url, baseDn: BASE, branches: { parcs: 'ou=NoParcs', rights: 'ou=NoRights' } });
    expect(await d.listParcs()).toEqual([]);
    expect(await d.getParc('salle101')).toBeNull();
    expect(await d.rightHolders('parc_can_clone')).toEqual([]);
  });

  it('reports an unreachable server or a wrong service password as DirectoryUnavailableError', async () => {
    const wrongPw = new LdapDirectory({ url: slapd.url, baseDn: BASE, bindDn: slapd.rootDn, bindPassword: 'nope' });
    await expect(wrongPw.listParcs()).rejects.toBeInstanceOf(DirectoryUnavailableError);
    const down = new LdapDirectory({ url: 'ldap://127.0.0.1:1', baseDn: BASE, timeoutMs: 1000 });
    await expect(down.listComputers()).rejects.toBeInstanceOf(DirectoryUnavailableError);
    await expect(down.authenticate('admin', 'admin-test-pw')).rejects.toBeInstanceOf(DirectoryUnavailableError);
    await down.close();
    await expect(down.listParcs()).rejects.toThrow(/closed/);
  });
});

/** The root DN is not under ou=People, so even its real password must not log anyone in. */
function slapdRootPassword(): string {
  return 'slapd-test-root-pw';
}
