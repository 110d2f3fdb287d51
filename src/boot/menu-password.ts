/**
 * The Maintenance menu password, hashed the way syslinux's MENU PASSWD checks it
 * (com32/menu/passwd.c): `$4$` SHA-1 as made by syslinux's `sha1pass`, `$1$` MD5-crypt,
 * `$5$`/`$6$` SHA-2 crypt (Drepper's algorithm, `rounds=` honoured).
 * SE3 kept the cleartext in its params table (se3-reference.md §7); only the hash is stored here.
 *
 * Default scheme: `$6$` with 50 000 rounds. The hash sits in pxelinux.cfg/default, which anyone
 * on the network can fetch by TFTP, so it must resist an offline guess: one salted SHA-1 (`$4$`)
 * is tested by the billion per second on a GPU, 50 000 SHA-512 rounds are ~10^5 times slower,
 * while menu.c32 still checks it in well under a second on an old PC.
 * `$4$` stays available (and is checked against `sha1pass` in the tests) for interoperability.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InputError } from '../common/domain/errors';
import { msg } from '../i18n/module-messages';

export type MenuPasswordScheme = 'sha512-crypt' | 'sha1';

/** 10: the hash is downloadable by anyone on the PC network (pxelinux.cfg/default), so it must resist an offline guess. */
export const MENU_PASSWORD_MIN = 10;
export const MENU_PASSWORD_MAX = 64;
export const MENU_PASSWORD_ROUNDS = 50_000;
/** Verifying a stored hash never burns more than this (a hostile hash could ask for 10^9). */
const MAX_VERIFY_ROUNDS = 1_000_000;

/** crypt(3)'s base64 alphabet, used by $1$, $5$ and $6$. */
const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const HASH_FORMATS: readonly RegExp[] = [
  /^\$4\$[A-Za-z0-9./+]{1,64}\$[A-Za-z0-9+/._-]{27}\$?$/,
  /^\$1\$[./0-9A-Za-z]{0,8}\$[./0-9A-Za-z]{22}$/,
  /^\$5\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{0,16}\$[./0-9A-Za-z]{43}$/,
  /^\$6\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{0,16}\$[./0-9A-Za-z]{86}$/,
];

/** True for a hash this module can write into MENU PASSWD: known format, no space nor newline. */
export function isMenuPasswordHash(v: unknown): v is string {
  return typeof v === 'string' && HASH_FORMATS.some((re) => re.test(v));
}

/**
 * Rules for the password itself: 10 to 64 printable ASCII characters. The boot menu reads raw
 * key codes with a US keyboard layout and no input method, so accented letters or other
 * non-ASCII characters could never be typed there (and 'a'/'q', 'z'/'w', digits on an AZERTY
 * keyboard come out differently: docs/boot.md).
 */
export function checkMenuPassword(password: unknown): string {
  const pw = checkMenuPasswordCharacters(password);
  if (pw.length < MENU_PASSWORD_MIN || pw.length > MENU_PASSWORD_MAX) {
    throw new InputError(`password: ${MENU_PASSWORD_MIN} to ${MENU_PASSWORD_MAX} characters`, 'password', msg('config.error.passwordLength', { min: MENU_PASSWORD_MIN, max: MENU_PASSWORD_MAX }));
  }
  return pw;
}

/** What the boot menu can take at all (hashing checks this; a new password is held to checkMenuPassword). */
function checkMenuPasswordCharacters(password: unknown): string {
  if (typeof password !== 'string') throw new InputError('password: required', 'password');
  if (/[\x00-\x1f\x7f]/.test(password)) throw new InputError('password: control characters are not allowed', 'password', msg('config.error.passwordControl'));
  if (!/^[\x20-\x7e]*$/.test(password)) {
    throw new InputError('password: only ASCII characters can be typed at the boot menu', 'password', msg('config.error.passwordAscii'));
  }
  if (password.length === 0 || password.length > MENU_PASSWORD_MAX) {
    throw new InputError(`password: ${MENU_PASSWORD_MIN} to ${MENU_PASSWORD_MAX} characters`, 'password', msg('config.error.passwordLength', { min: MENU_PASSWORD_MIN, max: MENU_PASSWORD_MAX }));
  }
  return password;
}

/**
 * Hashes a maintenance password for MENU PASSWD. `salt` is for reproducible tests; a random one
 * is drawn otherwise (16 crypt64 characters for $6$, 8 base64 characters like sha1pass for $4$).
 */
export function hashMenuPassword(password: string, salt?: string, scheme: MenuPasswordScheme = 'sha512-crypt'): string {
  const pw = Buffer.from(checkMenuPasswordCharacters(password), 'latin1');
  if (scheme === 'sha1') {
    const s = salt ?? randomBytes(6).toString('base64');
    if (!/^[A-Za-z0-9./+]{1,64}$/.test(s)) throw new InputError('salt: 1 to 64 characters of [A-Za-z0-9./+]', 'salt');
    return `$4$${s}$${sha1Digest(s, pw).toString('base64').replace(/=+$/, '')}$`;
  }
  const s = salt ?? [...randomBytes(16)].map((b) => CRYPT64[b & 63]).join('');
  if (!/^[./0-9A-Za-z]{1,16}$/.test(s)) throw new InputError('salt: 1 to 16 characters of [./0-9A-Za-z]', 'salt');
  return shaCrypt('sha512', pw, s, MENU_PASSWORD_ROUNDS);
}

/** Checks a password against any hash MENU PASSWD accepts. Constant-time comparison. */
export function verifyMenuPassword(password: string, hash: string): boolean {
  if (typeof password !== 'string' || !isMenuPasswordHash(hash)) return false;
  const pw = Buffer.from(password, 'latin1');
  switch (hash[1]) {
    case '4': {
      const [, , salt, digest] = hash.split('$');
      const expected = Buffer.from(digest.replace(/[-.]/g, '+').replace(/_/g, '/'), 'base64');
      return sameBytes(sha1Digest(salt, pw), expected);
    }
    case '1': {
      const salt = hash.split('$')[2];
      return sameString(md5Crypt(pw, salt), hash);
    }
    default: {
      const m = /^\$[56]\$(?:rounds=([0-9]+)\$)?([^$]*)\$/.exec(hash)!;
      const rounds = m[1] === undefined ? null : Math.max(1000, Number(m[1]));
      if (rounds !== null && rounds > MAX_VERIFY_ROUNDS) return false;
      return sameString(shaCrypt(hash[1] === '6' ? 'sha512' : 'sha256', pw, m[2], rounds), hash);
    }
  }
}

/** syslinux: SHA1(salt ‖ password), compared on the decoded 20 bytes. */
function sha1Digest(salt: string, pw: Buffer): Buffer {
  return createHash('sha1').update(Buffer.from(salt, 'latin1')).update(pw).digest();
}

/** Byte orders of the final crypt64 encoding (Drepper's specification, "sha-crypt.txt"). */
const SHA512_ORDER = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];
const SHA256_ORDER = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14], [15, 25, 5], [6, 16, 26],
  [27, 7, 17], [18, 28, 8], [9, 19, 29],
];

/** SHA-256/512 crypt. `rounds` null: the default 5000, not written into the result. */
function shaCrypt(alg: 'sha256' | 'sha512', key: Buffer, saltText: string, rounds: number | null): string {
  const size = alg === 'sha512' ? 64 : 32;
  const salt = Buffer.from(saltText.slice(0, 16), 'latin1');
  const digest = (...parts: Buffer[]): Buffer => {
    const h = createHash(alg);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const b = digest(key, salt, key);
  const aParts: Buffer[] = [key, salt];
  let n = key.length;
  for (; n > size; n -= size) aParts.push(b);
  aParts.push(b.subarray(0, n));
  for (let i = key.length; i > 0; i >>= 1) aParts.push(i & 1 ? b : key);
  let c = digest(...aParts);
  const p = repeatTo(digest(...Array<Buffer>(key.length).fill(key)), key.length);
  const s = repeatTo(digest(...Array<Buffer>(16 + c[0]).fill(salt)), salt.length);
  const count = rounds ?? 5000;
  for (let i = 0; i < count; i++) {
    const parts: Buffer[] = [i & 1 ? p : c];
    if (i % 3) parts.push(s);
    if (i % 7) parts.push(p);
    parts.push(i & 1 ? c : p);
    c = digest(...parts);
  }
  let out = '';
  for (const [x, y, z] of alg === 'sha512' ? SHA512_ORDER : SHA256_ORDER) out += to64((c[x] << 16) | (c[y] << 8) | c[z], 4);
  out += alg === 'sha512' ? to64(c[63], 2) : to64((c[31] << 8) | c[30], 3);
  const prefix = alg === 'sha512' ? '$6$' : '$5$';
  return `${prefix}${rounds === null ? '' : `rounds=${count}$`}${salt.toString('latin1')}$${out}`;
}

/** MD5-crypt (poul-henning kamp's $1$), as syslinux's crypt_md5. */
function md5Crypt(key: Buffer, saltText: string): string {
  const salt = Buffer.from(saltText.slice(0, 8), 'latin1');
  const md5 = (...parts: Buffer[]): Buffer => {
    const h = createHash('md5');
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const alt = md5(key, salt, key);
  const parts: Buffer[] = [key, Buffer.from('$1$'), salt];
  for (let n = key.length; n > 0; n -= 16) parts.push(alt.subarray(0, Math.min(n, 16)));
  for (let i = key.length; i > 0; i >>= 1) parts.push(i & 1 ? Buffer.alloc(1) : key.subarray(0, 1));
  let f = md5(...parts);
  for (let i = 0; i < 1000; i++) {
    const r: Buffer[] = [i & 1 ? key : f];
    if (i % 3) r.push(salt);
    if (i % 7) r.push(key);
    r.push(i & 1 ? f : key);
    f = md5(...r);
  }
  let out = '';
  for (const [x, y, z] of [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]]) out += to64((f[x] << 16) | (f[y] << 8) | f[z], 4);
  out += to64(f[11], 2);
  return `$1$${salt.toString('latin1')}$${out}`;
}

function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = block[i % block.length];
  return out;
}

function to64(v: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++, v >>>= 6) s += CRYPT64[v & 63];
  return s;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function sameString(a: string, b: string): boolean {
  return sameBytes(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}
