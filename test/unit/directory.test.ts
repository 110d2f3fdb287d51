import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LdifDirectory } from '../../src/shell/directory/ldif-directory';
import { hashUserPassword, verifyUserPassword } from '../../src/shell/directory/password';
import { InputError } from '../../src/common/domain/errors';

const FIXTURE = join(__dirname, '../fixtures/se3.ldif');
const B = 'dc=lycee,dc=ac-test,dc=fr';

describe('LdifDirectory on the SE3 fixture', () => {
  let dir: LdifDirectory;
  beforeAll(async () => {
    dir = await LdifDirectory.fromFile(FIXTURE);
  });

  it('takes the base DN from the first entry', () => {
    expect(dir.layout.base).toBe(B);
  });

  it('lists parcs sorted, members lowercase and normalised', async () => {
    const parcs = await dir.listParcs();
    expect(parcs.map((p) => p.name)).toEqual(['atelier', 'cdi', 'profs', 'salle101']);
    expect(parcs.find((p) => p.name === 'salle101')!.members).toHaveLength(12);
    expect((await dir.getParc('profs'))!.members).toEqual(['prof-pc01', 'prof-pc02', 'prof-pc03', 'prof-pc04']);
    expect((await dir.getParc('atelier'))!.members).toEqual(['atelier-pc01', 'atelier-pc02', 'atelier-pc99']);
    expect((await dir.getParc('SALLE101'))!.name).toBe('salle101');
    expect(await dir.getParc('nope')).toBeNull();
  });

  it('lists computers only (not machine accounts), sorted, names lowercase', async () => {
    const all = await dir.listComputers();
    expect(all).toHaveLength(24);
    expect(all.map((c) => c.name)).toEqual([...all.map((c) => c.name)].sort());
    expect(all.some((c) => c.name.includes('$'))).toBe(false);
    expect(all.map((c) => c.name)).toContain('cdi-pc03');
  });

  it('maps a computer: ip, mac, description (base64 in the file)', async () => {
    const pc = (await dir.getComputer('S101-PC01'))!;
    expect(pc.name).toBe('s101-pc01');
    expect(String(pc.ip)).toBe('10.77.0.11');
    expect(String(pc.mac)).toBe('52:54:00:12:00:0b');
    expect(pc.description).toBe('Salle 101 — poste enseignant');
    expect(pc.problems).toEqual([]);
    expect(await dir.getComputer('s101-pc01$')).toBeNull();
    expect(await dir.getComputer('atelier-pc99')).toBeNull();
  });

  it.each([
    ['s101-pc12', 'mac', /MAC address "52:54:00:12:00:zz" is not valid/],
    ['cdi-pc06', 'ip', /no IP address/],
    ['atelier-pc02', 'ip', /IP address "10.77.0.256" is not valid/],
  ])('explains what is wrong with %s', async (name, field, reason) => {
    const pc = (await dir.getComputer(name))!;
    expect(pc[field as 'ip' | 'mac']).toBeNull();
    expect(pc.problems.join('; ')).toMatch(reason);
  });

  it('only the three defective computers have problems', async () => {
    const withProblems = (await dir.listComputers()).filter((c) => c.problems.length > 0).map((c) => c.name);
    expect(withProblems).toEqual(['atelier-pc02', 'cdi-pc06', 's101-pc12']);
  });

  it('computersInParc: sorted, skipping members missing from ou=Computers', async () => {
    const names = async (p: string) => (await dir.computersInParc(p)).map((c) => c.name);
    expect(await names('atelier')).toEqual(['atelier-pc01', 'atelier-pc02']);
    expect(await names('cdi')).toEqual(['cdi-pc01', 'cdi-pc02', 'cdi-pc03', 'cdi-pc04', 'cdi-pc05', 'cdi-pc06']);
    expect(await names('profs')).toHaveLength(4);
    expect(await names('salle101')).toHaveLength(12);
    expect(await names('nope')).toEqual([]);
  });

  it.each([
    ['system_is_admin', ['admin']],
    ['parc_can_clone', ['admin', 'prof1', 'prof2', 'tech1']],
    ['computers_is_admin', ['admin', 'prof2', 'tech1']],
    ['PARC_CAN_CLONE', ['admin', 'prof1', 'prof2', 'tech1']],
    ['no_such_right', []],
    ['*', []],
  ])('rightHolders(%s): direct, posixGroup and nested groupOfNames members', async (right, holders) => {
    expect(await dir.rightHolders(right)).toEqual(holders);
  });

  it.each([
    ['admin', 'admin-test-pw', true],
    ['prof1', 'prof1-test-pw', true],
    ['tech1', 'tech1-test-pw', true],
    ['eleve1', 'eleve1-test-pw', true],
    ['admin', 'admin-test-pw ', false],
    ['admin', 'prof1-test-pw', false],
    ['admin', '', false],
    ['prof2', 'anything', false],
    ['nobody', 'admin-test-pw', false],
    ['Admin', 'admin-test-pw', false],
    ['*)(uid=*', 'admin-test-pw', false],
    ['admin,ou=People', 'admin-test-pw', false],
  ])('authenticate(%j, %j) is %s', async (login, password, ok) => {
    expect(await dir.authenticate(login, password)).toBe(ok);
  });
});

describe('LdifDirectory edge cases', () => {
  const head = `dn: dc=x\ndc: x\n\ndn: ou=People,dc=x\nou: People\n\n`;

  it('follows nested groups once, through cycles, groupOfUniqueNames and uid DNs elsewhere', async () => {
    const ldif = `${head}dn: cn=r,ou=Rights,dc=x
objectClass: groupOfNames
member: cn=g1,ou=Groups,dc=x
member: uid=outsider,ou=Other,dc=x
member: cn=missing,ou=Groups,dc=x

dn: cn=g1,ou=Groups,dc=x
objectClass: groupOfNames
member: cn=g2,ou=Groups,dc=x
member: uid=A1, ou=people, dc=X

dn: cn=g2,ou=Groups,dc=x
objectClass: groupOfUniqueNames
uniqueMember: cn=g1,ou=Groups,dc=x
uniqueMember: uid=a2,ou=People,dc=x#'0101'B
uniqueMember: cn=p,ou=Groups,dc=x

dn: cn=p,ou=Groups,dc=x
objectClass: posixGroup
memberUid: a3
memberUid: Not Valid!
`;
    expect(await new LdifDirectory(ldif).rightHolders('r')).toEqual(['a1', 'a2', 'a3']);
  });

  it('reports several or missing MACs, invalid names, and keeps duplicate spellings as one', async () => {
    const ldif = `${head}dn: cn=two,ou=Computers,dc=x
objectClass: ipHost
objectClass: ieee802Device
ipHostNumber: 10.0.0.1
macAddress: 52:54:00:00:00:01
macAddress: 52:54:00:00:00:02

dn: cn=same,ou=Computers,dc=x
objectClass: ipHost
objectClass: ieee802Device
ipHostNumber: 10.0.0.2
macAddress: 52:54:00:00:00:03
macAddress: 52-54-00-00-00-03

dn: cn=bad_name,ou=Computers,dc=x
objectClass: ipHost
ipHostNumber: 10.0.0.3
`;
    const d = new LdifDirectory(ldif);
    const two = (await d.getComputer('two'))!;
    expect(two.mac).toBeNull();
    expect(two.problems).toEqual(['several MAC addresses: 52:54:00:00:00:01, 52:54:00:00:00:02']);
    expect(String((await d.getComputer('same'))!.mac)).toBe('52:54:00:00:00:03');
    const bad = (await d.getComputer('bad_name'))!;
    expect(bad.problems).toEqual([expect.stringMatching(/not a valid machine name/), 'no MAC address (macAddress)']);
  });

  it('honours an explicit base and custom branches', async () => {
    const ldif = `dn: o=school\no: school\n\ndn: cn=pc1,ou=Machines,o=school\nobjectClass: ipHost\nipHostNumber: 10.0.0.1\n`;
    const d = new LdifDirectory(ldif, { baseDn: 'o=school', branches: { computers: 'ou=Machines' } });
    expect((await d.listComputers()).map((c) => c.name)).toEqual(['pc1']);
    expect(await new LdifDirectory(ldif, { baseDn: 'o=school' }).listComputers()).toEqual([]);
  });

  it('verifies every supported hash scheme and refuses clear text', async () => {
    const schemes = ['SSHA', 'SSHA256', 'SSHA512', 'SHA'] as const;
    const users = schemes.map((s, i) => `dn: uid=u${i},ou=People,dc=x\nuid: u${i}\nuserPassword: ${hashUserPassword(`pw-${s}`, s)}\n`);
    const d = new LdifDirectory(`${head}${users.join('\n')}\ndn: uid=clear,ou=People,dc=x\nuserPassword: clear\n`);
    for (const [i, s] of schemes.entries()) {
      expect(await d.authenticate(`u${i}`, `pw-${s}`)).toBe(true);
      expect(await d.authenticate(`u${i}`, `pw-${s}x`)).toBe(false);
    }
    expect(await d.authenticate('clear', 'clear')).toBe(false);
  });

  it('rejects malformed stored values and oversized passwords', () => {
    const good = hashUserPassword('pw', 'SSHA');
    expect(verifyUserPassword(good, 'pw')).toBe(true);
    expect(verifyUserPassword('{SSHA}AAAA', 'pw')).toBe(false);
    expect(verifyUserPassword('{MD5}X03MO1qnZdYdgyfeuILPmQ==', 'password')).toBe(false);
    expect(verifyUserPassword(hashUserPassword('x'.repeat(2000)), 'x'.repeat(2000))).toBe(false);
  });

  it('refuses an empty LDIF without a base, with an InputError', () => {
    expect(() => new LdifDirectory('# nothing\n')).toThrow(InputError);
  });
});
