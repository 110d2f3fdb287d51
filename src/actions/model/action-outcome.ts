/**
 * How a finished action ended, beyond its state: counts of its targets, a partial success
 * ("terminée avec erreurs"), and whether its failed PCs can be retried (action-retry.ts).
 */
import type { ActionRow, TargetRow } from './action-types';
import { isTerminal } from './action-types';

/** Counts of a finished action's targets (a partial success shows them). */
export interface TargetCounts {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
}

export function targetCounts(targets: readonly Pick<TargetRow, 'state'>[]): TargetCounts {
  const n = (s: string) => targets.filter((t) => t.state === s).length;
  return { total: targets.length, succeeded: n('succeeded'), failed: n('failed'), cancelled: n('cancelled') };
}

/** Failed with some targets done: the page says "terminée avec erreurs" and gives the counts. */
export function isPartial(state: ActionRow['state'], c: TargetCounts): boolean {
  return state === 'failed' && c.succeeded > 0;
}

/** Whether the page offers the retry: the action is over and some non-sender target failed. */
export function canRetry(action: Pick<ActionRow, 'state'>, targets: readonly Pick<TargetRow, 'state' | 'role'>[]): boolean {
  return isTerminal(action.state) && targets.some((t) => t.state === 'failed' && t.role !== 'sender');
}

