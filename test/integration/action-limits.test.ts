/**
 * Actions of up to 2,000 machines (issue 15 item 5): the wizard's POST with 2,000 machines creates
 * the action; with 2,001 it is refused with the French field error of the machine list, not the
 * body parser's 413 (the parsers are sized from MAX_TARGETS: actions/params/limits.ts, and the
 * shell's own parser is at least as large, checked here).
 */
import { ACTION_FORM_LIMITS, MAX_TARGETS } from '../../src/actions/params/limits';
import { MAX_RECEIVERS } from '../../src/actions/params/clone-params';
import { FORM_LIMITS } from '../../src/shell/shell-app';
import { createFakeHost, type FakeMachine } from '../helpers/fake-host';
import { startTestModule, type TestModule } from '../helpers/test-module';

const PCS = MAX_TARGETS + 2;
const name = (i: number) => `lycee-pc-${String(i).padStart(4, '0')}`;
const machines: FakeMachine[] = Array.from({ length: PCS }, (_, i) => ({
  name: name(i), mac: `02:00:00:20:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
  ip: `10.20.${Math.floor(i / 250)}.${(i % 250) + 1}`,
}));

describe('actions of up to 2,000 machines', () => {
  let m: TestModule;
  beforeAll(async () => {
    m = await startTestModule({}, createFakeHost({ lab: { lycee: machines } }));
  });
  afterAll(() => m.stop());

  const post = (count: number) => {
    const fields: [string, string][] = [['type', 'report'], ['parc', 'lycee'], ...machines.slice(0, count).map((x): [string, string] => ['machine', x.name]),
      ['auto_reboot', 'never'], ['confirm', '1'], ['_csrf', 'test-csrf']];
    return fetch(`${m.base}/modules/clonage/actions`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-user': 'admin', 'accept-language': 'fr' },
    });
  };

  it('the limits agree: receivers, the wizard parser, the shell parser', () => {
    expect(MAX_TARGETS).toBe(2000);
    expect(MAX_RECEIVERS).toBe(MAX_TARGETS);
    expect(ACTION_FORM_LIMITS.parameters).toBeGreaterThan(MAX_TARGETS + 50);
    expect(FORM_LIMITS.parameters).toBeGreaterThanOrEqual(ACTION_FORM_LIMITS.parameters);
    expect(FORM_LIMITS.bytes).toBeGreaterThanOrEqual(ACTION_FORM_LIMITS.bytes);
    // the longest machine field (a 15-letter name) fits as many times as the parser counts fields
    expect(ACTION_FORM_LIMITS.bytes).toBeGreaterThanOrEqual(ACTION_FORM_LIMITS.parameters * `machine=${'a'.repeat(15)}&`.length);
  });

  it('2,000 machines: the action is created with its 2,000 targets', async () => {
    const res = await post(2000);
    const text = res.status === 303 ? '' : await res.text();
    expect({ status: res.status, text: text.slice(0, 300) }).toEqual({ status: 303, text: '' });
    const id = /\/actions\/([^/?#]+)$/.exec(res.headers.get('location') ?? '')![1];
    expect((m.host.db.prepare('SELECT COUNT(*) AS n FROM clonage_targets WHERE action_id = ?').get(id) as { n: number }).n).toBe(2000);
  });

  it('2,001 machines: the wizard answers with the field error in French, not a 413', async () => {
    const before = (m.host.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get() as { n: number }).n;
    const res = await post(2001);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('au plus 2000 machines');
    expect((m.host.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get() as { n: number }).n).toBe(before);
  });
});
