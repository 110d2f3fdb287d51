/**
 * The agent protocol's identities, defined once: job ids, one-time tokens and their shapes.
 * One-time job tokens (docs/agent-protocol.md): 32 random bytes, base64url. Only the SHA-256 is
 * stored with the target; the cleartext lives in the armed boot plan alone, which the boot-plan
 * store erases once the agent fetched its job. A token is checked in constant time against the
 * stored hash, so response timing reveals nothing about how much of a guess was right.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_BYTES = 32;
/** A token as newToken() makes it (also the emitter's ack and post-clone tokens). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** A job id as the agent and the boot plan carry it (newJobId() makes j_…, older ids stay valid). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isToken(v: unknown): v is string {
  return typeof v === 'string' && TOKEN_PATTERN.test(v);
}

export function isJobId(v: unknown): v is string {
  return typeof v === 'string' && JOB_ID_PATTERN.test(v);
}

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A hash matching no token anyone knows: targets get one until they are armed (a fresh token then). */
export function unusableTokenHash(): string {
  return hashToken(`unarmed:${randomBytes(TOKEN_BYTES).toString('base64url')}`);
}

export function tokenMatches(token: string, storedHash: string): boolean {
  if (!isToken(token) || !/^[0-9a-f]{64}$/.test(storedHash)) return false;
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return timingSafeEqual(a, b);
}

/** Random ids: a_… for actions, j_… for targets (also the agent's job id, [A-Za-z0-9_-]{1,64}). */
export function newActionId(): string {
  return `a_${randomBytes(9).toString('base64url')}`;
}

export function newJobId(): string {
  return `j_${randomBytes(12).toString('base64url')}`;
}

export function newScheduleId(): string {
  return `s_${randomBytes(9).toString('base64url')}`;
}

export const ACTION_ID_PATTERN = /^a_[A-Za-z0-9_-]{1,40}$/;
