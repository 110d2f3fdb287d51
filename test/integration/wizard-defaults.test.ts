import { PageClient } from '../helpers/browserless-client';
import { startTestShell, USERS, loggedIn, type TestShell } from '../helpers/test-shell';

/** Step 3 of the wizard offers each admin the parameters they used last, else the configured defaults. */
describe('wizard defaults remembered per admin', () => {
  let shell: TestShell;
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
  });
  afterAll(async () => shell?.stopAndClean());

  const login = (who: keyof typeof USERS) => loggedIn(shell, who);
  const step3 = (c: PageClient) =>
    c.get('/modules/clonage/actions/new/params?type=clone&parc=salle101&emitter=s101-pc05&machine=s101-pc06&machine=s101-pc07');

  test('an admin gets back their own last choices; another admin keeps the configured defaults', async () => {
    const admin = await login('admin');
    expect((await step3(admin)).text).toMatch(/<option value="zstd" selected>zstd<\/option>/);
    const csrf = await admin.csrf('/modules/clonage/actions/new?parc=salle101');
    const created = await admin.post('/modules/clonage/actions', {
      _csrf: csrf, type: 'clone', parc: 'salle101', emitter: 's101-pc01', machine: ['s101-pc02', 's101-pc03'],
      domain: 'none', disk: 'sdb', compression: 'lzop', min_receivers: '2', min_wait: '2', max_wait: '4', start_timeout: '9',
      auto_reboot: 'success', confirm: '1',
    });
    expect(created.status).toBe(303);
    const again = (await step3(admin)).text;
    expect(again).toMatch(/<option value="lzop" selected>lzop<\/option>/);
    expect(again).toMatch(/name="start_timeout"[^>]*value="9"/);
    expect(again).toMatch(/name="disk"[^>]*value="sdb"/);

    const tech = await login('tech1');
    const other = (await step3(tech)).text;
    expect(other).toMatch(/<option value="zstd" selected>zstd<\/option>/);
    expect(other).toMatch(/name="disk" value="" placeholder="automatique \(le premier disque fixe de chaque PC\)"/);
  });
});
