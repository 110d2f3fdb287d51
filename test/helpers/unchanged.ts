/**
 * `expect(after).toEqual(before)` for big state snapshots, compared as JSON first: the hostile
 * suites compare the whole database hundreds of times, and jest's deep equality on every row
 * cost more than the requests themselves. Only a difference pays for jest's diff.
 */
export function expectUnchanged(after: unknown, before: unknown): void {
  if (JSON.stringify(after) !== JSON.stringify(before)) expect(after).toEqual(before);
}
