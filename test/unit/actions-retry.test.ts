/** retryRequest (src/actions/engine/action-retry.ts): which targets and parameters a retry takes. */
import { retryRequest, targetCounts, isPartial, canRetry } from '../../src/actions/engine/action-retry';
import type { ActionRow, TargetRow } from '../../src/actions/model/action-types';

const action = (over: Partial<ActionRow>): ActionRow => ({
  id: 'a_1', type: 'clone', state: 'failed', parcs: ['salle1'], createdBy: 'admin', createdAt: '2026-12-01T10:00:00Z', startAt: '2026-12-01T10:00:00Z',
  startedAt: null, armedAt: null, finishedAt: null, port: 9000, scheduleId: null, error: null,
  params: { type: 'clone', disk: 'sda', compression: 'zstd', minReceivers: 3, minWaitMinutes: 1, maxWaitMinutes: 2, startTimeoutMinutes: 5, autoReboot: 'always' },
  ...over,
});
let n = 0;
const target = (name: string, role: TargetRow['role'], state: TargetRow['state']): TargetRow => ({
  id: `j_${++n}`, actionId: 'a_1', mac: `02:00:00:00:00:0${n % 10}`, name, ip: `10.0.0.${n}`, role, state, tokenHash: 'x', stage: null, percent: null,
  bytes: null, rateKbps: null, exitCode: null, message: null, log: '', startedAt: null, finishedAt: null, updatedAt: '2026-12-01T10:00:00Z',
  sessionHash: null, fetchedFrom: null, smbCredentialsAt: null, logBytes: 0, firmware: null, secureBoot: null,
});

describe('retry of the failed PCs', () => {
  it('a clone keeps its emitter and retries only the failed receivers; min receivers never above their count', () => {
    const targets = [target('pc01', 'sender', 'succeeded'), target('pc02', 'receiver', 'succeeded'), target('pc03', 'receiver', 'failed'), target('pc04', 'receiver', 'cancelled')];
    const r = retryRequest(action({}), targets)!;
    expect(r.targets.map((t) => [t.name, t.role])).toEqual([['pc01', 'sender'], ['pc03', 'receiver']]);
    expect(r.params).toMatchObject({ type: 'clone', minReceivers: 1, disk: 'sda' });
    expect(r.parcs).toEqual(['salle1']);
    expect(isPartial('failed', targetCounts(targets))).toBe(true);
    expect(canRetry(action({}), targets)).toBe(true);
  });

  it('a deploy drops the verified stream digests (verified again); nothing to retry when nothing failed or it still runs', () => {
    const deploy = action({ type: 'deploy', params: { type: 'deploy', sourceMac: '02:00:00:00:00:09', image: 'img', disk: 'sda', minReceivers: 2, minWaitMinutes: 1,
      maxWaitMinutes: 2, startTimeoutMinutes: 3, autoReboot: 'always', streams: [{ number: 1, bytes: 10, sha256: 'a'.repeat(64) }] } });
    const r = retryRequest(deploy, [target('pc05', 'deploy', 'failed'), target('pc06', 'deploy', 'succeeded')])!;
    expect(r.params).not.toHaveProperty('streams');
    expect(r.params).toMatchObject({ minReceivers: 1 });
    expect(retryRequest(action({ state: 'succeeded' }), [target('pc07', 'sender', 'succeeded')])).toBeNull();
    expect(retryRequest(action({ state: 'running' }), [target('pc08', 'receiver', 'failed')])).toBeNull();
    expect(isPartial('failed', targetCounts([target('pc09', 'report', 'failed')]))).toBe(false);
  });
});
