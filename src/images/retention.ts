/**
 * Backup retention (setting `backup.retention`, SE3's suppr_old_svg/del_old_svg): which server
 * images of a machine to delete after a successful backup. Pure: the caller marks the rows and
 * removes the files. Two rules hold whatever the policy says: the backup just made is never
 * deleted, and a machine is never left without a good image.
 */
import type { BackupRow } from './backup-records';

export type RetentionPolicy =
  | { readonly kind: 'all' }
  | { readonly kind: 'older-than'; readonly months: number }
  | { readonly kind: 'keep-last'; readonly count: number };

export const KEEP_ALL: RetentionPolicy = { kind: 'all' };

/** 'all' | 'older-than-N-months' (1..120) | 'keep-last-K' (1..999); anything else is null. */
export function parseRetention(value: unknown): RetentionPolicy | null {
  if (value === 'all') return KEEP_ALL;
  if (typeof value !== 'string') return null;
  const older = /^older-than-(\d{1,3})-months?$/.exec(value);
  if (older) {
    const months = Number(older[1]);
    return months >= 1 && months <= 120 ? { kind: 'older-than', months } : null;
  }
  const last = /^keep-last-(\d{1,3})$/.exec(value);
  if (last) {
    const count = Number(last[1]);
    return count >= 1 ? { kind: 'keep-last', count } : null;
  }
  return null;
}

export function describeRetention(p: RetentionPolicy): string {
  return p.kind === 'all' ? 'all' : p.kind === 'older-than' ? `older-than-${p.months}-months` : `keep-last-${p.count}`;
}

/** `months` calendar months before `now` (UTC), the day clamped to the target month's length. */
export function monthsBefore(now: Date, months: number): Date {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth() - months;
  const target = new Date(Date.UTC(y, m, 1, now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds(), now.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(now.getUTCDate(), lastDay));
  return target;
}

/**
 * The images to delete. `good` are the machine's succeeded server images (any order);
 * `justMadeId` is the backup that triggered retention.
 */
export function retentionVictims(good: readonly BackupRow[], justMadeId: number, policy: RetentionPolicy, now: Date): BackupRow[] {
  if (policy.kind === 'all' || good.length <= 1) return [];
  const newestFirst = [...good].sort((a, b) => (a.createdAt === b.createdAt ? b.id - a.id : a.createdAt < b.createdAt ? 1 : -1));
  let victims: BackupRow[];
  if (policy.kind === 'keep-last') {
    const kept = new Set(newestFirst.slice(0, policy.count).map((b) => b.id));
    victims = newestFirst.filter((b) => !kept.has(b.id));
  } else {
    const cutoff = monthsBefore(now, policy.months).toISOString();
    victims = newestFirst.filter((b) => b.createdAt < cutoff);
  }
  victims = victims.filter((b) => b.id !== justMadeId);
  // Never the only good one: at least one image stays, the newest of them.
  if (victims.length >= newestFirst.length) victims = victims.filter((b) => b.id !== newestFirst[0].id);
  return victims;
}
