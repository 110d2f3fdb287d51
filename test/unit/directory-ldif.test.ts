import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LdifError, parseLdif } from '../../src/shell/directory/ldif';
import { InputError } from '../../src/common/domain/errors';
import { firstRdn, normaliseDn, parentDn } from '../../src/shell/directory/dn';

describe('parseLdif', () => {
  it('reads entries, lowercases attribute names and keeps several values in order', () => {
    const [e] = parseLdif('dn: cn=a,dc=x\nobjectClass: top\nobjectClass: groupOfNames\nmember: cn=b,dc=x\nmember: cn=c,dc=x\n');
    expect(e.dn).toBe('cn=a,dc=x');
    expect(e.line).toBe(1);
    expect(e.attrs.get('objectclass')).toEqual(['top', 'groupOfNames']);
    expect(e.attrs.get('member')).toEqual(['cn=b,dc=x', 'cn=c,dc=x']);
  });

  it('unfolds continuation lines, skips comments (folded ones too) and a version line', () => {
    const text = ['version: 1', '# a comment', ' that is folded', 'dn: cn=a,', ' dc=x', 'description: one', '  two', '', ''].join('\n');
    const [e] = parseLdif(text);
    expect(e.dn).toBe('cn=a,dc=x');
    expect(e.attrs.get('description')).toEqual(['one two']);
    expect(e.line).toBe(4);
  });

  it('decodes base64 values, in the dn too, and accepts CRLF and empty values', () => {
    const b64 = Buffer.from('Salle 101 — poste', 'utf8').toString('base64');
    const dn64 = Buffer.from('cn=é,dc=x').toString('base64');
    const [e] = parseLdif(`dn:: ${dn64}\r\ndescription:: ${b64}\r\nl:\r\n`);
    expect(e.dn).toBe('cn=é,dc=x');
    expect(e.attrs.get('description')).toEqual(['Salle 101 — poste']);
    expect(e.attrs.get('l')).toEqual(['']);
  });

  it('separates records on blank lines, even several', () => {
    const entries = parseLdif('dn: dc=x\ndc: x\n\n\n\ndn: ou=a,dc=x\nou: a\n');
    expect(entries.map((e) => e.dn)).toEqual(['dc=x', 'ou=a,dc=x']);
    expect(entries[1].line).toBe(6);
  });

  it('keeps attribute options in the name', () => {
    const [e] = parseLdif('dn: dc=x\ncn;lang-fr: bonjour\n');
    expect(e.attrs.get('cn;lang-fr')).toEqual(['bonjour']);
  });

  it.each([
    ['an attribute before any dn', 'cn: a\n', 1, /expected "dn:"/],
    ['a line without a colon', 'dn: dc=x\nnot an attribute\n', 2, /expected "attribute: value"/],
    ['invalid base64', 'dn: dc=x\ncn:: @@@@\n', 2, /not valid base64/],
    ['a URL value', 'dn: dc=x\njpegPhoto:< file:///etc/shadow\n', 2, /URL values/],
    ['a change record', 'dn: dc=x\nchangetype: delete\n', 2, /change records/],
    ['a continuation at the start', ' folded\ndn: dc=x\ncn: a\n', 1, /continuation line/],
    ['a second dn in one entry', 'dn: dc=x\ncn: a\ndn: dc=y\n', 3, /second "dn:"/],
    ['an entry with no attributes', 'dn: dc=x\n\ndn: dc=y\ncn: y\n', 1, /no attributes/],
    ['an empty dn', 'dn: \ncn: a\n', 1, /empty dn/],
    ['a bad attribute name', 'dn: dc=x\nc n: a\n', 2, /not an attribute name/],
    ['an unknown version', 'version: 2\ndn: dc=x\ncn: a\n', 1, /version 1/],
    ['a duplicate entry, however spelled', 'dn: cn=A,dc=x\ncn: a\n\ndn: cn=a, DC=x\ncn: a\n', 4, /duplicate entry.*line 1/],
  ])('rejects %s with its line number', (_what, text, line, message) => {
    let err: unknown;
    try {
      parseLdif(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LdifError);
    expect(err).toBeInstanceOf(InputError);
    expect((err as LdifError).line).toBe(line);
    expect((err as LdifError).message).toMatch(new RegExp(`^LDIF line ${line}: `));
    expect((err as LdifError).message).toMatch(message);
  });

  it('reads the SE3 fixture', () => {
    const entries = parseLdif(readFileSync(join(__dirname, '../fixtures/se3.ldif'), 'utf8'));
    expect(entries[0].dn).toBe('dc=lycee,dc=ac-test,dc=fr');
    const prof1 = entries.find((e) => e.dn.startsWith('uid=prof1,'))!;
    expect(prof1.attrs.get('userpassword')).toEqual(['{SSHA}GJCz4hFcpRgVmh/fkA3W7tpiUfFjbG9uYWdlLWIy']);
    const pc = entries.find((e) => e.dn.startsWith('cn=prof-pc01,'))!;
    expect(pc.attrs.get('description')).toEqual(["Poste de la salle des profs, a cote de l'imprimante"]);
  });
});

describe('dn helpers', () => {
  it.each([
    ['cn=PC01, ou=Computers,  DC=Lycee,dc=fr', 'cn=pc01,ou=computers,dc=lycee,dc=fr'],
    [' cn = Salle  101 ,ou=Parcs', 'cn=salle 101,ou=parcs'],
    ['cn=a\\,b,dc=x', 'cn=a\\,b,dc=x'],
    ['', ''],
  ])('normalises %j', (dn, norm) => {
    expect(normaliseDn(dn)).toBe(norm);
  });

  it('compares, splits and unescapes', () => {
    expect(normaliseDn('uid=Admin,ou=People,dc=x')).toBe(normaliseDn('UID=admin, ou=people, dc=X'));
    expect(normaliseDn('uid=admin,ou=People,dc=x')).not.toBe(normaliseDn('uid=admin2,ou=People,dc=x'));
    expect(firstRdn('CN=Pc\\2C01\\,x,ou=a')).toEqual({ type: 'cn', value: 'Pc,01,x' });
    expect(firstRdn('garbage')).toBeNull();
    expect(parentDn('cn=a, ou=B,dc=x')).toBe('ou=b,dc=x');
    expect(parentDn('dc=x')).toBe('');
  });
});
