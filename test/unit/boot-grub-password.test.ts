import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { InputError } from '../../src/common/domain/errors';
import { hashGrubPassword, isGrubPasswordHash, verifyGrubPassword } from '../../src/boot/grub-password';

const MKPASSWD = '/usr/bin/grub-mkpasswd-pbkdf2';

describe('GRUB password_pbkdf2 hash', () => {
  it('has the grub-mkpasswd-pbkdf2 format, a fresh salt each time, and verifies', () => {
    const a = hashGrubPassword('Maint-2024', undefined, 1000);
    const b = hashGrubPassword('Maint-2024', undefined, 1000);
    expect(a).toMatch(/^grub\.pbkdf2\.sha512\.1000\.[0-9A-F]{128}\.[0-9A-F]{128}$/);
    expect(a).not.toBe(b);
    expect(isGrubPasswordHash(a)).toBe(true);
    expect(verifyGrubPassword('Maint-2024', a)).toBe(true);
    expect(verifyGrubPassword('maint-2024', a)).toBe(false);
    expect(a).not.toContain('Maint-2024');
  });

  (existsSync(MKPASSWD) ? it : it.skip)('computes what grub-mkpasswd-pbkdf2 computes for the same salt', () => {
    const out = execFileSync(MKPASSWD, ['-c', '1000'], { input: 'Maint-2024\nMaint-2024\n', encoding: 'utf8' });
    const theirs = /grub\.pbkdf2\.sha512\.\S+/.exec(out)![0];
    const salt = theirs.split('.')[4];
    expect(hashGrubPassword('Maint-2024', salt, 1000)).toBe(theirs);
    expect(verifyGrubPassword('Maint-2024', theirs)).toBe(true);
  });

  it('refuses what could break a grub.cfg line, and the password rules of the menu', () => {
    for (const bad of ['grub.pbkdf2.sha512.1000.AB.CD\nset superusers=', 'grub.pbkdf2.sha512.1000.zz.' + 'A'.repeat(128), '$6$x$y', '']) {
      expect(isGrubPasswordHash(bad)).toBe(false);
    }
    expect(() => hashGrubPassword('short')).toThrow(InputError);
    expect(() => hashGrubPassword('é-accentué')).toThrow(InputError);
    expect(verifyGrubPassword('x', `grub.pbkdf2.sha512.999999999.${'A'.repeat(128)}.${'B'.repeat(128)}`)).toBe(false);
  });
});
