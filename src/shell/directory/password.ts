/**
 * userPassword checking for the in-process directory, in the formats slapd writes
 * (`slappasswd`, and the pw-sha2 module): {SSHA}, {SHA}, {SSHA256}, {SHA256}, {SSHA512}, {SHA512}.
 * Clear-text or {CRYPT} values are refused: a fixture or snapshot should never carry them,
 * and accepting them would make the LDIF directory weaker than the server it stands in for.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ALGORITHMS: Record<string, { hash: string; size: number; salted: boolean }> = {
  sha: { hash: 'sha1', size: 20, salted: false },
  ssha: { hash: 'sha1', size: 20, salted: true },
  sha256: { hash: 'sha256', size: 32, salted: false },
  ssha256: { hash: 'sha256', size: 32, salted: true },
  sha512: { hash: 'sha512', size: 64, salted: false },
  ssha512: { hash: 'sha512', size: 64, salted: true },
};

/** Beyond this, a "password" is an attempt to make us hash megabytes; slapd has similar limits. */
const MAX_PASSWORD_BYTES = 1024;

/** True when `password` matches the stored userPassword value. Constant time in the digest compare. */
export function verifyUserPassword(stored: string, password: string): boolean {
  const m = /^\{([A-Za-z0-9]+)\}([A-Za-z0-9+/=]+)$/.exec(stored.trim());
  if (!m) return false;
  const algo = ALGORITHMS[m[1].toLowerCase()];
  if (!algo) return false;
  const pw = Buffer.from(password, 'utf8');
  if (pw.length === 0 || pw.length > MAX_PASSWORD_BYTES) return false;
  const decoded = Buffer.from(m[2], 'base64');
  if (algo.salted ? decoded.length <= algo.size : decoded.length !== algo.size) return false;
  const expected = decoded.subarray(0, algo.size);
  const salt = decoded.subarray(algo.size);
  const actual = createHash(algo.hash).update(pw).update(salt).digest();
  return timingSafeEqual(expected, actual);
}

/** Builds a {SSHA}-family value, as `slappasswd -h {SSHA}` would; for fixtures and tests. */
export function hashUserPassword(password: string, scheme: 'SSHA' | 'SSHA256' | 'SSHA512' | 'SHA' = 'SSHA', salt?: Buffer): string {
  const algo = ALGORITHMS[scheme.toLowerCase()];
  const s = algo.salted ? (salt ?? randomBytes(8)) : Buffer.alloc(0);
  const digest = createHash(algo.hash).update(password, 'utf8').update(s).digest();
  return `{${scheme}}${Buffer.concat([digest, s]).toString('base64')}`;
}

/**
 * Spends about the same time as a real check, so a caller can answer an unknown login as slowly
 * as a wrong password and not reveal which logins exist.
 */
export function burnPasswordCheck(password: string): void {
  verifyUserPassword('{SSHA}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', password);
}
