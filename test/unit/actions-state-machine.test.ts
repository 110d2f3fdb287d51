import fc from 'fast-check';
import { ConflictError } from '../../src/common/domain/errors';
import { type ActionState, STATES } from '../../src/actions/model/action-types';
import { canTransition, deriveActionState, transition } from '../../src/actions/model/state-machine';

const LEGAL_TARGET: [ActionState, ActionState][] = [
  ['scheduled', 'preparing'],
  ['scheduled', 'armed'],
  ['scheduled', 'failed'],
  ['scheduled', 'cancelled'],
  ['preparing', 'armed'],
  ['preparing', 'failed'],
  ['preparing', 'cancelled'],
  ['armed', 'running'],
  ['armed', 'failed'],
  ['armed', 'cancelled'],
  ['running', 'succeeded'],
  ['running', 'failed'],
];

describe('target transitions', () => {
  const all = STATES.flatMap((from) => STATES.map((to) => [from, to] as [ActionState, ActionState]));
  const isLegal = (from: ActionState, to: ActionState) => LEGAL_TARGET.some(([f, t]) => f === from && t === to);

  it.each(LEGAL_TARGET)('%s → %s is legal', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });

  it.each(all.filter(([f, t]) => !isLegal(f, t)))('%s → %s is refused with ConflictError', (from, to) => {
    expect(() => transition(from, to)).toThrow(ConflictError);
    expect(canTransition(from, to)).toBe(false);
  });

  it('never cancels a running target (its disk is being written), but an action may end cancelled', () => {
    expect(canTransition('running', 'cancelled', 'target')).toBe(false);
    expect(canTransition('running', 'cancelled', 'action')).toBe(true);
  });

  it('lets an action be in progress straight from scheduled when one target finished early', () => {
    expect(canTransition('scheduled', 'running', 'action')).toBe(true);
    expect(canTransition('scheduled', 'running', 'target')).toBe(false);
  });

  it('finished states are final', () => {
    for (const from of ['succeeded', 'failed', 'cancelled'] as const) {
      for (const to of STATES) expect(canTransition(from, to, 'action')).toBe(false);
    }
  });
});

describe('deriveActionState', () => {
  const s = (...states: ActionState[]) => states.map((state) => ({ state }));
  it.each<[ActionState[], ActionState]>([
    [['scheduled', 'scheduled'], 'scheduled'],
    [['preparing', 'preparing'], 'preparing'],
    [['armed', 'preparing'], 'armed'],
    [['armed', 'armed'], 'armed'],
    [['running', 'armed'], 'running'],
    [['succeeded', 'armed'], 'running'],
    [['failed', 'armed'], 'running'],
    [['succeeded', 'succeeded'], 'succeeded'],
    [['succeeded', 'failed'], 'failed'],
    [['succeeded', 'cancelled'], 'cancelled'],
    [['failed', 'cancelled'], 'failed'],
    [['cancelled', 'cancelled'], 'cancelled'],
    [['running', 'cancelled'], 'running'],
  ])('%j → %s', (states, expected) => {
    expect(deriveActionState(s(...states))).toBe(expected);
  });

  it('refuses an action without targets', () => {
    expect(() => deriveActionState([])).toThrow();
  });

  it('only moves forward while targets take legal steps (property)', () => {
    const step = fc.record({ target: fc.nat(), choice: fc.nat() });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(step, { maxLength: 40 }), (n, steps) => {
        const targets = Array.from({ length: n }, () => ({ state: 'scheduled' as ActionState }));
        let action = deriveActionState(targets);
        for (const { target, choice } of steps) {
          const t = targets[target % n];
          const next = STATES.filter((to) => canTransition(t.state, to, 'target'));
          if (next.length === 0) continue;
          t.state = next[choice % next.length];
          const derived = deriveActionState(targets);
          if (derived !== action) {
            expect(canTransition(action, derived, 'action')).toBe(true);
            action = derived;
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
