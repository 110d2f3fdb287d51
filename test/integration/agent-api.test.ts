/**
 * End to end over HTTP on loopback, real SQLite file: the wizard's POST creates a clone, tick()
 * arms the plans, the agent endpoints fetch/progress/log/result drive it to success, and the
 * action page and its live stream show it. Only the host is faked (test/helpers/fake-host.ts).
 */
import { Mac } from '../../src/common/domain/mac';
import type { BootPlanStore } from '../../src/boot/boot-plan-store';
import type { ModuleParts } from '../../src/index';
import type { FakeHost } from '../helpers/fake-host';
import { startTestModule, type TestModule } from '../helpers/test-module';

const MAC = { pc01: '02:00:00:00:00:01', pc02: '02:00:00:00:00:02', pc03: '02:00:00:00:00:03' } as const;

describe('agent API and action pages over HTTP', () => {
  let host: FakeHost;
  let m: TestModule;
  let parts: ModuleParts;
  let bootPlans: BootPlanStore;
  let base: string;
  const mod = () => `${base}/modules/clonage`;

  beforeAll(async () => {
    m = await startTestModule({ heartbeatMs: 100 });
    ({ host, parts, base } = m);
    bootPlans = parts.bootPlans;
    // HTTP from loopback, not from the lab's reserved 10.0.0.x: bound to the fetching address.
    host.settings.set('agent.addressCheck', 'fetcher');
  });

  afterAll(() => m.stop());

  const form = (fields: [string, string][], user = 'admin') =>
    ({ method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-user': user }, body: new URLSearchParams(fields).toString() }) as RequestInit;
  /** Boot token → the session its fetch answered; later calls (init with a method) send the session. */
  const sessions = new Map<string, string>();
  const agent = (token: string | null, init: RequestInit = {}) => {
    const secret = token === null ? {} : init.method ? { 'x-clonage-session': sessions.get(token) ?? token } : { authorization: `Bearer ${token}` };
    return { ...init, headers: { ...(init.headers as Record<string, string>), ...secret } } as RequestInit;
  };
  const fetched = (token: string, res: Response) => {
    const s = res.headers.get('x-clonage-session');
    if (res.status === 200 && s) sessions.set(token, s);
    return res;
  };
  const job = (name: keyof typeof MAC) => {
    const plan = bootPlans.get(Mac.parse(MAC[name]));
    if (plan?.kind !== 'job') throw new Error(`${name}: no armed job`);
    return plan;
  };
  const snapshot = () => JSON.stringify([
    host.db.prepare('SELECT * FROM clonage_targets ORDER BY id').all(),
    host.db.prepare('SELECT * FROM clonage_actions ORDER BY id').all(),
    host.db.prepare('SELECT * FROM clonage_boot_plans ORDER BY mac').all(),
  ]);
  const CLONE: [string, string][] = [['type', 'clone'], ['parc', 'salle1'], ['emitter', 'pc01'], ['machine', 'pc02'], ['machine', 'pc03']];

  let actionId: string;
  /** Tokens as the agents get them (kernel command line), read from the armed plans once. */
  const jobs: Partial<Record<keyof typeof MAC, { jobId: string; token: string }>> = {};

  it('wizard steps 1 and 2 still work, step 2 offers the emitter and the type', async () => {
    const step1 = await fetch(`${mod()}/actions/new`, { headers: { 'x-test-user': 'admin' } });
    expect(step1.status).toBe(200);
    expect(await step1.text()).toContain('name="parc" value="salle1"');
    const step2 = await (await fetch(`${mod()}/actions/new?parc=salle1`, { headers: { 'x-test-user': 'admin' } })).text();
    expect(step2).toContain('<form id="params" method="get" action="new/params"');
    expect(step2).toContain('name="emitter" value="pc01" form="params"');
    expect(step2).toContain('<option value="clone">');
  });

  it('wizard step 3 shows the defaults from the settings, step 4 the summary', async () => {
    host.settings.set('clone.compression', 'lzop');
    const q = new URLSearchParams(CLONE).toString();
    const step3 = await fetch(`${mod()}/actions/new/params?${q}`, { headers: { 'x-test-user': 'admin' } });
    expect(step3.status).toBe(200);
    const html3 = await step3.text();
    expect(html3).toMatch(/<option value="lzop" selected>lzop<\/option>/);
    expect(html3).toContain('name="start_timeout" min="1" value="20"');
    const step4 = await fetch(`${mod()}/actions`, form([...CLONE, ['_csrf', 'test-csrf']]));
    expect(step4.status).toBe(200);
    const html4 = await step4.text();
    expect(html4).toContain("Lancer l'action");
    expect(html4).toContain('<th scope="row">Récepteurs minimum</th><td>2</td>');
    expect(html4).toContain('name="confirm" value="1"');
    expect(host.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual({ n: 0 });
  });

  it('field errors are rendered on the form (400), nothing stored', async () => {
    const res = await fetch(`${mod()}/actions`, form([...CLONE, ['disk', 'sda1; reboot'], ['max_wait', '99'], ['confirm', '1']]));
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('id="err-disk"');
    expect(html).toContain('id="err-start_timeout"');
    expect(host.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual({ n: 0 });
  });

  it('creating: 303 to the action page; tick arms one plan per machine', async () => {
    const res = await fetch(`${mod()}/actions`, form([...CLONE, ['confirm', '1']]));
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/modules\/clonage\/actions\/a_[A-Za-z0-9_-]+$/);
    actionId = location.split('/').pop()!;
    await parts.scheduler.tick(host.clock.now());
    expect(bootPlans.listArmed().map((p) => p.mac.toString()).sort()).toEqual([MAC.pc01, MAC.pc02, MAC.pc03]);
    for (const name of ['pc01', 'pc02', 'pc03'] as const) {
      const plan = job(name);
      jobs[name] = { jobId: plan.jobId, token: plan.token };
    }
  });

  it('a user outside the parcs gets 403 on the page, the stream and the POSTs', async () => {
    for (const path of [`/actions/${actionId}`, `/actions/${actionId}/events`]) {
      expect((await fetch(`${mod()}${path}`, { headers: { 'x-test-user': 'prof', accept: 'application/json' } })).status).toBe(403);
    }
    expect((await fetch(`${mod()}/actions/${actionId}/cancel`, form([], 'prof'))).status).toBe(403);
    expect((await fetch(`${mod()}/actions/${actionId}/start-now`, form([], 'prof'))).status).toBe(403);
  });

  it('refused agent calls (401/403/404) change nothing', async () => {
    const j = job('pc02');
    const before = snapshot();
    const url = `${mod()}/api/agent/jobs/${j.jobId}`;
    const wrong = await fetch(url, agent('A'.repeat(43)));
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await fetch(url, agent(null))).status).toBe(401);
    expect((await fetch(`${mod()}/api/agent/jobs/j_unknown`, agent(j.token))).status).toBe(404);
    expect((await fetch(`${url}/result`, agent('B'.repeat(43), { method: 'POST', body: new URLSearchParams({ status: 'succeeded' }) }))).status).toBe(403);
    expect(snapshot()).toBe(before);
  });

  it('the live stream sends a snapshot, then updates as the agents report', async () => {
    const ac = new AbortController();
    const res = await fetch(`${mod()}/actions/${actionId}/events`, { signal: ac.signal, headers: { 'x-test-user': 'admin' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const until = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += Buffer.from(value).toString('utf8');
      }
    };
    await until('event: snapshot');
    const j = jobs.pc01!;
    expect(fetched(j.token, await fetch(`${mod()}/api/agent/jobs/${j.jobId}`, agent(j.token))).status).toBe(200);
    await until('event: update');
    expect(text).toContain('"state":"running"');
    await until(': heartbeat');
    expect(parts.core.bus.listenerCount(actionId)).toBe(1);
    ac.abort();
    for (let i = 0; i < 50 && parts.core.bus.listenerCount(actionId) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(parts.core.bus.listenerCount(actionId)).toBe(0);
    expect(host.logger.lines.join('\n')).not.toContain('action listener failed');
  });

  it('the agents fetch, report progress and logs, and finish: the action succeeds', async () => {
    const receivers = (['pc02', 'pc03'] as const).map((n) => ({ name: n, ...jobs[n]! }));
    for (const r of receivers) {
      const res = fetched(r.token, await fetch(`${mod()}/api/agent/jobs/${r.jobId}`, agent(r.token)));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-clonage-session')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await res.clone().text()).not.toContain(res.headers.get('x-clonage-session'));
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const body = await res.text();
      expect(body).toContain(`job=${r.jobId}\nrole=receiver\n`);
      expect(body).toContain('start_timeout=1200\n');
      expect(body).toContain('compression=lzop\n');
      expect(bootPlans.get(Mac.parse(MAC[r.name]))).toBeNull();
      const again = await fetch(`${mod()}/api/agent/jobs/${r.jobId}`, agent(r.token));
      expect(again.status).toBe(409);
    }
    const r2 = receivers[0];
    const post = (path: string, init: RequestInit) => fetch(`${mod()}/api/agent/jobs/${r2.jobId}${path}`, agent(r2.token, { method: 'POST', ...init }));
    expect((await post('/progress', { body: new URLSearchParams({ stage: 'receiving', percent: '37', bytes: '1000', rate_kbps: '90000' }) })).status).toBe(204);
    expect((await post('/progress', { body: new URLSearchParams({ percent: 'lots' }) })).status).toBe(400);
    const text = (body: string) => ({ headers: { 'content-type': 'text/plain' }, body });
    expect((await post('/log', text('udp-receiver started\n'))).status).toBe(204);
    expect((await post('/log', text('x'.repeat(70 * 1024)))).status).toBe(413);
    expect((await post('/report', text('[disk]\nsda\n'))).status).toBe(204);
    expect(host.db.prepare('SELECT stage, percent, rate_kbps, log FROM clonage_targets WHERE id = ?').get(r2.jobId))
      .toEqual({ stage: 'receiving', percent: 37, rate_kbps: 90000, log: 'udp-receiver started\n' });

    for (const name of ['pc02', 'pc03', 'pc01'] as const) {
      const j = jobs[name]!;
      const res = await fetch(`${mod()}/api/agent/jobs/${j.jobId}/result`,
        agent(j.token, { method: 'POST', body: new URLSearchParams({ status: 'succeeded', exit_code: '0', message: 'ok' }) }));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('reboot=always\n');
    }
    expect((host.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(actionId) as { state: string }).state).toBe('succeeded');
    const replay = await fetch(`${mod()}/api/agent/jobs/${r2.jobId}`, agent(r2.token));
    expect(replay.status).toBe(410);
    expect(await replay.text()).toMatch(/^error=/);
  });

  it('the action page shows targets, progress and events, never a token', async () => {
    const res = await fetch(`${mod()}/actions/${actionId}`, { headers: { 'x-test-user': 'admin' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    // events the server writes are shown in the reader's language (French here; docs/i18n.md)
    for (const s of ['pc01', 'pc02', 'pc03', 'data-field="percent"', 'action : en attente → en cours', 'action : en cours → réussie']) expect(html).toContain(s);
    const english = await (await fetch(`${mod()}/actions/${actionId}`, { headers: { 'x-test-user': 'admin', 'accept-language': 'en' } })).text();
    for (const s of ['action: waiting → running', 'action: running → succeeded']) expect(english).toContain(s);
    for (const j of Object.values(jobs)) expect(html).not.toContain(j!.token);
    expect(html).not.toContain('Annuler');
  });

  it('a finished action cannot be cancelled (409)', async () => {
    const res = await fetch(`${mod()}/actions/${actionId}/cancel`, { ...form([]), headers: { ...(form([]).headers as Record<string, string>), accept: 'application/json' } });
    expect(res.status).toBe(409);
  });

  it('cancel: every plan disarmed, later agent calls are gone (410)', async () => {
    const created = await fetch(`${mod()}/actions`, form([...CLONE, ['confirm', '1']]));
    const id = created.headers.get('location')!.split('/').pop()!;
    await parts.scheduler.tick(host.clock.now());
    const j = job('pc02');
    expect((await fetch(`${mod()}/actions/${id}/cancel`, form([['_csrf', 'test-csrf']]))).status).toBe(303);
    expect(bootPlans.listArmed()).toEqual([]);
    expect((host.db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(id) as { state: string }).state).toBe('cancelled');
    expect((await fetch(`${mod()}/api/agent/jobs/${j.jobId}`, agent(j.token))).status).toBe(410);
  });
});
