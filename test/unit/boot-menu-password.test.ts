import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  checkMenuPassword,
  hashMenuPassword,
  isMenuPasswordHash,
  verifyMenuPassword,
} from '../../src/boot/menu-password';
import { InputError } from '../../src/common/domain/errors';

/** Runs a reference tool if it is installed; tests that need it are skipped otherwise. */
function tool(path: string, args: string[]): string {
  return execFileSync(path, args, { encoding: 'utf8' }).trim();
}
const hasSha1pass = existsSync('/usr/bin/sha1pass');
const hasPerl = existsSync('/usr/bin/perl');
const hasOpenssl = existsSync('/usr/bin/openssl');

describe('hashMenuPassword $4$ (syslinux sha1pass format)', () => {
  it('is $4$<salt>$<base64(sha1(salt+password)) without padding>$', () => {
    // Value computed by /usr/bin/sha1pass secret12 abcdefgh (syslinux-utils 6.04).
    expect(hashMenuPassword('secret12', 'abcdefgh', 'sha1')).toBe('$4$abcdefgh$6t7l1J1EsB1XHquB82XLlDcUNf8$');
  });

  (hasSha1pass ? it : it.skip)('matches /usr/bin/sha1pass for several passwords and salts', () => {
    const cases: [string, string][] = [
      ['secret12', 'abcdefgh'],
      ['Correct horse 42!', 'Zm9vYmFy'],
      ['~!@#$%^&*()_+', 'a+b/c.d9'],
      ['x'.repeat(64), 'S'],
    ];
    for (const [pw, salt] of cases) {
      expect(hashMenuPassword(pw, salt, 'sha1')).toBe(tool('/usr/bin/sha1pass', [pw, salt]));
    }
  });

  (hasSha1pass ? it : it.skip)('verifies hashes made by sha1pass with a random salt', () => {
    const h = tool('/usr/bin/sha1pass', ['maintenance!']);
    expect(isMenuPasswordHash(h)).toBe(true);
    expect(verifyMenuPassword('maintenance!', h)).toBe(true);
    expect(verifyMenuPassword('maintenance?', h)).toBe(false);
  });

  it('draws an 8-character random salt by default', () => {
    const a = hashMenuPassword('secret12', undefined, 'sha1');
    const b = hashMenuPassword('secret12', undefined, 'sha1');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^\$4\$[A-Za-z0-9+/]{8}\$[A-Za-z0-9+/]{27}\$$/);
    expect(verifyMenuPassword('secret12', a)).toBe(true);
  });
});

describe('hashMenuPassword $6$ (default: SHA-512 crypt, 50000 rounds)', () => {
  it('is the default scheme and verifies', () => {
    const h = hashMenuPassword('secret12');
    expect(h).toMatch(/^\$6\$rounds=50000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    expect(verifyMenuPassword('secret12', h)).toBe(true);
    expect(verifyMenuPassword('secret13', h)).toBe(false);
    expect(h).not.toContain('secret12');
  });

  it('matches the glibc crypt value (computed with perl crypt)', () => {
    expect(hashMenuPassword('secret12', 'abcdefgh')).toBe(
      '$6$rounds=50000$abcdefgh$e0TXqc3EtX3cFgiG59Kj8j5mPN1xYdhuwKilIn0BctLMiPVE6Z.9MNS1Ap9pCQqlYtFkvy8ob8bS2sMGRIoUd.',
    );
  });

  (hasPerl ? it : it.skip)('agrees with the system crypt(3) for $5$ and $6$, default and custom rounds', () => {
    for (const setting of ['$6$rounds=50000$0123456789abcdef$', '$6$saltsalt$', '$5$rounds=12000$xy./Z$', '$5$abc$']) {
      for (const pw of ['secret12', 'a much longer password that goes past 64 bytes ......................']) {
        const ref = tool('/usr/bin/perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', pw, setting]);
        expect(verifyMenuPassword(pw, ref)).toBe(true);
        expect(verifyMenuPassword(`${pw}x`, ref)).toBe(false);
      }
    }
  });

  (hasOpenssl ? it : it.skip)('verifies $1$ MD5-crypt hashes (md5pass / openssl passwd -1)', () => {
    const h = tool('/usr/bin/openssl', ['passwd', '-1', '-salt', 'Qx.1/Zy9', 'secret12']);
    expect(verifyMenuPassword('secret12', h)).toBe(true);
    expect(verifyMenuPassword('secret21', h)).toBe(false);
  });

  it('refuses to spend more than a million rounds on a hostile hash', () => {
    const hostile = `$6$rounds=999999999$abc$${'a'.repeat(86)}`;
    expect(isMenuPasswordHash(hostile)).toBe(true);
    expect(verifyMenuPassword('secret12', hostile)).toBe(false);
  });
});

describe('password rules', () => {
  it.each([
    ['too short', 'abc12'],
    ['too long', 'x'.repeat(65)],
    ['newline', 'secret\n12'],
    ['tab', 'secret\t12'],
    ['NUL', 'secret\u000012'],
    ['DEL', 'secret\u007f12'],
    ['non-ASCII (cannot be typed at the boot menu)', 'sécurité1'],
  ])('rejects %s', (why, pw) => {
    // Length below the minimum is a rule for new passwords only: hashing checks what the menu can take.
    if (why !== 'too short') expect(() => hashMenuPassword(pw)).toThrow(InputError);
    expect(() => checkMenuPassword(pw)).toThrow(InputError);
  });

  it('accepts 10 and 64 printable characters, spaces included; a new password of 9 is refused (its hash is public)', () => {
    expect(checkMenuPassword('a b c!6789')).toBe('a b c!6789');
    expect(() => checkMenuPassword('secret123')).toThrow('password: 10 to 64 characters');
    expect(checkMenuPassword('y'.repeat(64))).toHaveLength(64);
  });

  it('rejects salts that could break the config line', () => {
    expect(() => hashMenuPassword('secret12', 'ab$cd', 'sha1')).toThrow(InputError);
    expect(() => hashMenuPassword('secret12', 'ab cd')).toThrow(InputError);
    expect(() => hashMenuPassword('secret12', 'x'.repeat(17))).toThrow(InputError);
  });
});

describe('isMenuPasswordHash', () => {
  it.each([
    ['cleartext', 'secret12'],
    ['empty', ''],
    ['newline injection', '$4$abcdefgh$6t7l1J1EsB1XHquB82XLlDcUNf8$\nLABEL evil'],
    ['space', '$4$abc defg$6t7l1J1EsB1XHquB82XLlDcUNf8$'],
    ['unknown scheme', '$2y$10$abcdefghijklmnopqrstuv'],
  ])('rejects %s', (_why, v) => {
    expect(isMenuPasswordHash(v)).toBe(false);
    expect(verifyMenuPassword('secret12', v)).toBe(false);
  });
});
