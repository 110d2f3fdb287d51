import path from 'node:path';
import { PageClient } from '../helpers/browserless-client';
import { startSlapd, type RunningSlapd } from '../helpers/slapd';
import { APP_ROOT, startTestShell, USERS, type TestShell } from '../helpers/test-shell';

/** The shell against a real slapd: LDAP bind login, rights and parcs read over LDAP. */
describe('standalone shell on a real LDAP server', () => {
  let slapd: RunningSlapd;
  let shell: TestShell;
  beforeAll(async () => {
    slapd = await startSlapd({ ldifPath: path.join(APP_ROOT, 'test/fixtures/se3.ldif'), baseDn: 'dc=lycee,dc=ac-test,dc=fr' });
    shell = await startTestShell({ directory: { kind: 'ldap', url: slapd.url, baseDn: slapd.baseDn } }, { autoEnable: ['clonage'] });
  }, 60000);
  afterAll(async () => {
    await shell?.stopAndClean();
    await slapd?.stop();
  });

  test('users log in by LDAP bind; wrong passwords and injection attempts are refused', async () => {
    expect(await new PageClient(shell.url).login(USERS.tech1.login, USERS.tech1.password)).toBe(303);
    expect(await new PageClient(shell.url).login(USERS.tech1.login, 'wrong')).toBe(401);
    expect(await new PageClient(shell.url).login('*)(uid=*', 'x')).toBe(401);
    expect(await new PageClient(shell.url).login('admin', '')).toBe(401);
  });

  test('rights and delegated parcs come from the LDAP server', async () => {
    const tech = new PageClient(shell.url);
    await tech.login(USERS.tech1.login, USERS.tech1.password);
    const wizard = await tech.get('/modules/clonage/actions/new?parc=salle101');
    expect(wizard.status).toBe(200);
    expect(wizard.text).toContain('data-machine="s101-pc03"');
    const eleve = new PageClient(shell.url);
    await eleve.login(USERS.eleve1.login, USERS.eleve1.password);
    expect((await eleve.get('/modules/clonage/actions/new')).status).toBe(403);
  });
});
