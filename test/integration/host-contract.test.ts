import path from 'node:path';
import { PageClient } from '../helpers/browserless-client';
import { APP_ROOT, startTestShell, USERS, loggedIn, type TestShell } from '../helpers/test-shell';
import { defaultConfig } from '../../src/shell/config';

/** Every member of the host contract, as a module receives it from the standalone shell. */
describe('host contract, through a probe module', () => {
  let shell: TestShell;
  const fixed = new Date('2026-03-02T20:00:00Z');
  beforeAll(async () => {
    shell = await startTestShell(
      { modules: [APP_ROOT, path.join(APP_ROOT, 'test/fixtures/modules/probe')] },
      { autoEnable: ['probe'], clock: { now: () => fixed } },
    );
  });
  afterAll(async () => shell?.stopAndClean());

  const login = (who: keyof typeof USERS) => loggedIn(shell, who);

  test('directory, DHCP, rights, network, clock, db and install hook reach the module', async () => {
    const tech = await login('tech1');
    const facts = JSON.parse((await tech.get('/modules/probe/facts')).text);
    expect(facts).toEqual({
      moduleId: 'probe',
      mountPath: '/modules/probe',
      user: 'tech1',
      isAdmin: false,
      parcsOf: defaultConfig(APP_ROOT).delegations.filter((d) => d.login === 'tech1').map((d) => d.parc),
      parcCount: 4,
      pcMac: '52:54:00:12:00:0b',
      reservationName: 's101-pc01',
      serverIp: '10.77.0.1',
      wake: ['127.255.255.255'],
      installs: 1,
      csrfLength: 43,
      locale: 'fr',
      now: fixed.toISOString(),
      dataDirIsInside: true,
    });
    const admin = await login('admin');
    expect(JSON.parse((await admin.get('/modules/probe/facts')).text).parcsOf).toBe('all');
  });

  test('render wraps the module page in the shell layout; settings persist; CSRF enforced', async () => {
    const tech = await login('tech1');
    const page = await tech.get('/modules/probe/probe');
    expect(page.text).toContain('<p id="greeting">bonjour</p>');
    expect(page.text).toContain('class="menu"');
    expect((await tech.post('/modules/probe/probe', {})).status).toBe(403);
    const csrf = await tech.csrf('/modules/probe/probe');
    expect(JSON.parse((await tech.post('/modules/probe/probe', { _csrf: csrf })).text)).toEqual({ count: 1 });
  });

  test('requireRight: anonymous is sent to login, a user without the right gets 403', async () => {
    const anon = new PageClient(shell.url);
    const r = await anon.get('/modules/probe/facts');
    expect(r.status).toBe(303);
    expect(r.location).toMatch(/^\/login\?next=/);
    expect((await (await login('eleve1')).get('/modules/probe/facts')).status).toBe(403);
  });

  test('DHCP change notifications reach the module', async () => {
    const tech = await login('tech1');
    const before = JSON.parse((await tech.get('/modules/probe/changes')).text).changes;
    shell.dhcp.api.addReservation({ mac: '52:54:00:99:00:01', ip: '10.77.0.60', name: 'probe-pc' });
    expect(JSON.parse((await tech.get('/modules/probe/changes')).text).changes).toBe(before + 1);
  });
});
