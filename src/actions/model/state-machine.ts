/**
 * The action state machine, pure: which state changes are legal for one target and for a whole
 * action, and how an action's state follows from its targets'. No I/O, no clock.
 *
 *   scheduled → preparing → armed → running → succeeded | failed
 *        └──────────┴─────────┴──→ failed | cancelled
 *
 * A running target is never cancelled: its disk is being written, and stopping the agent halfway
 * would leave a broken disk (cancel() records that instead).
 */
import { ConflictError } from '../../common/domain/errors';
import { type ActionState, isTerminal } from './action-types';

const TARGET_TRANSITIONS: Readonly<Record<ActionState, readonly ActionState[]>> = {
  scheduled: ['preparing', 'armed', 'failed', 'cancelled'],
  preparing: ['armed', 'failed', 'cancelled'],
  armed: ['running', 'failed', 'cancelled'],
  running: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

/**
 * An action is derived from targets that need not move together: it is "running" (in progress,
 * partly done) as soon as one target ran or finished — possibly straight from scheduled or
 * preparing when one target failed early — and may end cancelled after running.
 */
const ACTION_TRANSITIONS: Readonly<Record<ActionState, readonly ActionState[]>> = {
  ...TARGET_TRANSITIONS,
  scheduled: [...TARGET_TRANSITIONS.scheduled, 'running'],
  preparing: [...TARGET_TRANSITIONS.preparing, 'running'],
  running: ['succeeded', 'failed', 'cancelled'],
};

export type StateScope = 'target' | 'action';

export function canTransition(from: ActionState, to: ActionState, scope: StateScope = 'target'): boolean {
  const table = scope === 'target' ? TARGET_TRANSITIONS : ACTION_TRANSITIONS;
  return table[from].includes(to);
}

/**
 * Returns `to` when the change is legal, else throws ConflictError (HTTP 409): the caller acted on
 * a state that moved meanwhile (double click, agent retry, cancel racing a result).
 */
export function transition(from: ActionState, to: ActionState, scope: StateScope = 'target'): ActionState {
  if (!canTransition(from, to, scope)) {
    throw new ConflictError(`${scope} is ${from}: it cannot become ${to}`);
  }
  return to;
}

/**
 * An action's state from its targets' states.
 * - all finished: failed if any failed, else cancelled if any was cancelled, else succeeded;
 * - otherwise running as soon as one target runs or finished (so the action never goes back from
 *   running to armed when a fast target finishes before a slow one boots);
 * - otherwise the most advanced of armed, preparing, scheduled.
 * Targets only move forward, so the derived state only moves forward too (see the property test).
 */
export function deriveActionState(targets: readonly { readonly state: ActionState }[]): ActionState {
  if (targets.length === 0) throw new Error('an action has at least one target');
  const states = targets.map((t) => t.state);
  if (states.every(isTerminal)) {
    if (states.includes('failed')) return 'failed';
    if (states.includes('cancelled')) return 'cancelled';
    return 'succeeded';
  }
  if (states.some((s) => s === 'running' || isTerminal(s))) return 'running';
  if (states.includes('armed')) return 'armed';
  if (states.includes('preparing')) return 'preparing';
  return 'scheduled';
}
