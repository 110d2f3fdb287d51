/**
 * The Maintenance password for the network GRUB (UEFI PCs): `password_pbkdf2` takes the format
 * grub-mkpasswd-pbkdf2 prints, `grub.pbkdf2.sha512.<iterations>.<salt hex>.<hash hex>`
 * (PBKDF2-HMAC-SHA512, 64-byte salt and hash, uppercase hex). GRUB has no crypt(3), so the
 * `$6$` hash kept for pxelinux cannot serve: both are computed when the admin sets the password,
 * and only the hashes are stored. grub/grub.cfg is public (TFTP), hence a slow hash.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { InputError } from '../common/domain/errors';
import { checkMenuPassword } from './menu-password';

/** grub-mkpasswd-pbkdf2's default is 10 000; ten times that still checks in well under a second on a PC. */
export const GRUB_PBKDF2_ITERATIONS = 100_000;
const BYTES = 64;
const MAX_VERIFY_ITERATIONS = 1_000_000;
const FORMAT = /^grub\.pbkdf2\.sha512\.([1-9][0-9]{0,8})\.([0-9A-F]{16,256})\.([0-9A-F]{128})$/;

/** True for a value that can be written after `password_pbkdf2 <user>`: no space, quote or newline can pass. */
export function isGrubPasswordHash(v: unknown): v is string {
  return typeof v === 'string' && FORMAT.test(v);
}

/** `salt` (hex) is for reproducible tests and for checking against grub-mkpasswd-pbkdf2's output. */
export function hashGrubPassword(password: string, saltHex?: string, iterations = GRUB_PBKDF2_ITERATIONS): string {
  const pw = checkMenuPassword(password);
  const salt = saltHex === undefined ? randomBytes(BYTES) : Buffer.from(saltHex, 'hex');
  if (saltHex !== undefined && !/^([0-9A-Fa-f]{2}){8,128}$/.test(saltHex)) throw new InputError('salt: 16 to 256 hex digits', 'salt');
  if (!Number.isInteger(iterations) || iterations < 1000 || iterations > MAX_VERIFY_ITERATIONS) throw new InputError('iterations: 1000 to 1000000', 'iterations');
  const hash = pbkdf2Sync(Buffer.from(pw, 'latin1'), salt, iterations, BYTES, 'sha512');
  return `grub.pbkdf2.sha512.${iterations}.${hex(salt)}.${hex(hash)}`;
}

/** What GRUB does when the password is typed. Constant-time comparison; a hostile iteration count is refused. */
export function verifyGrubPassword(password: string, stored: string): boolean {
  const m = typeof password === 'string' ? FORMAT.exec(stored) : null;
  if (!m || m[2].length % 2 !== 0 || Number(m[1]) > MAX_VERIFY_ITERATIONS) return false;
  const expected = Buffer.from(m[3], 'hex');
  const got = pbkdf2Sync(Buffer.from(password, 'latin1'), Buffer.from(m[2], 'hex'), Number(m[1]), BYTES, 'sha512');
  return timingSafeEqual(got, expected);
}

function hex(b: Buffer): string {
  return b.toString('hex').toUpperCase();
}
