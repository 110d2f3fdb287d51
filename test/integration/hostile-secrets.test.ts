/**
 * Secrets never leave where they belong (SE3 §7 "secrets in cleartext"). With a maintenance
 * password set through the REAL configuration page and SMB / domain-join passwords in the module
 * settings, every artifact the server generates is searched for them: pxelinux configs (default and
 * every MAC, over TFTP), iPXE scripts, the dnsmasq files, the log lines, the netlogon scripts of a
 * Windows-domain clone, events and pages. Only the join answer given to a cloned PC carries its
 * password (by design, docs/emitter-preparation.md), and only the settings table stores the two
 * Samba passwords (a documented weak point); the maintenance password is stored nowhere in clear.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  actionState, agent, allBootFiles, Client, createAction, emitterScripts, removedEvent, scriptsWritten, installFakeToolkit, jobOf, moduleSettings, raw, targetStates, until,
} from '../helpers/hostile';
import { startTestShell, type TestShell, USERS } from '../helpers/test-shell';

const MAINT = 'Maint;$(id)-Pw1';
const SMB = 'Smb-S3cret!x7';
const JOIN = 'J0in-S3cret!y8';
const SECRETS = { MAINT, SMB, JOIN, admin: USERS.admin.password, tech1: USERS.tech1.password };
const M = '/modules/clonage';

/** The forms a secret could take once written somewhere. */
function variants(s: string): string[] {
  return [s, encodeURIComponent(s), Buffer.from(s).toString('base64'), JSON.stringify(s).slice(1, -1), s.replace(/[$;()!]/g, '\\$&')];
}

function leaks(artifacts: Record<string, string>, secrets: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [name, text] of Object.entries(artifacts)) {
    for (const [label, s] of Object.entries(secrets)) if (variants(s).some((v) => text.includes(v))) out.push(`${label} in ${name}`);
  }
  return out;
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('no cleartext secret in any generated artifact', () => {
  let shell: TestShell;
  let admin: Client;
  const artifacts: Record<string, string> = {};
  let smbFailed: string;
  let domainClone: string;
  let joinAnswer = '';

  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'], beforeStart: installFakeToolkit });
    admin = await Client.as(shell.url, 'admin');
    expect((await admin.send('POST', `${M}/config`, { form: { 'menu.mode': 'text', 'menu.timeoutSeconds': '8', 'menu.maintenancePasswordHash': MAINT } })).status).toBe(303);
    const settings = moduleSettings(shell.db);
    for (const [k, v] of Object.entries({
      'netlogon.destination': 'smb', 'netlogon.smb.server': '127.0.0.1', 'netlogon.smb.port': await closedPort(),
      'netlogon.smb.username': 'netlogon-writer', 'netlogon.smb.password': SMB, 'netlogon.smb.domain': 'SAMBAEDU',
      'postclone.join.domain': 'sambaedu.lan', 'postclone.join.username': 'joiner', 'postclone.join.password': JOIN,
    })) settings.set(k, v);

    // 1. a Windows-domain clone whose scripts cannot be placed (smbclient, with the SMB password, fails)
    smbFailed = await createAction(admin, { type: 'clone', parc: 'cdi', emitter: 'cdi-pc01', machine: ['cdi-pc02'], domain: 'windows-domain' });
    await until(() => actionState(shell.db, smbFailed) === 'failed', 'SMB placement failure', 30_000);

    // 2. the same on the local netlogon folder: scripts written, acknowledged, a clone fetches its job and asks for the join account
    settings.set('netlogon.destination', 'local');
    domainClone = await createAction(admin, { type: 'clone', parc: 'salle101', emitter: 's101-pc01', machine: ['s101-pc02', 's101-pc03'], domain: 'windows-domain' });
    await until(() => scriptsWritten(shell.db, domainClone), 'emitter scripts');
    const scripts = emitterScripts(shell.dataDir, 's101-pc01')!;
    artifacts['netlogon clonage-emitter.cmd'] = scripts.cmd;
    artifacts['netlogon clonage-postclone.ps1'] = scripts.ps1;
    const dir = path.join(shell.dataDir, 'modules/clonage/netlogon/machine/s101-pc01');
    for (const f of fs.readdirSync(dir)) artifacts[`netlogon ${f} (as listed)`] = fs.readFileSync(path.join(dir, f), 'latin1');
    const ack = await raw(shell.url, 'POST', `${M}/api/emitter/ack?action=${domainClone}`, { headers: { authorization: `Bearer ${scripts.ackToken}` } });
    expect(ack.status).toBe(200);
    await until(() => Object.values(targetStates(shell.db, domainClone)).every((st) => st === 'armed'), 'plans armed');
    const pc02 = await jobOf(shell.url, '52:54:00:12:00:0c');
    const job = await agent(shell.url, 'GET', pc02.jobId, pc02.token);
    expect(job.status).toBe(200);
    artifacts['job description'] = job.text;
    // The image's claim token buys the machine's own token with the name; only that one gets the join account.
    const name = await raw(shell.url, 'GET', `${M}/api/postclone/name?mac=52:54:00:12:00:0c`, { headers: { authorization: `Bearer ${scripts.postCloneToken}` } });
    artifacts['post-clone name'] = name.text;
    expect(name.machineToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await raw(shell.url, 'GET', `${M}/api/postclone/join?mac=52:54:00:12:00:0c`, { headers: { authorization: `Bearer ${scripts.postCloneToken}` } })).status).toBe(403);
    const join = await raw(shell.url, 'GET', `${M}/api/postclone/join?mac=52:54:00:12:00:0c`, { headers: { authorization: `Bearer ${name.machineToken}` } });
    expect(join.status).toBe(200);
    joinAnswer = join.text;
    await until(() => removedEvent(shell.db, domainClone), 'scripts removed after the ack');
  }, 60_000);

  afterAll(async () => {
    await shell?.stopAndClean();
  });

  it('the set-up really used every secret (the test is not vacuous)', async () => {
    const s = moduleSettings(shell.db);
    expect(s.get<string>('menu.maintenancePasswordHash')).toMatch(/^\$6\$rounds=50000\$/);
    expect(s.get<string>('menu.maintenancePasswordPbkdf2')).toMatch(/^grub\.pbkdf2\.sha512\.100000\./);
    const events = shell.db.prepare('SELECT message FROM clonage_events WHERE action_id = ?').all(smbFailed) as { message: string }[];
    expect(events.map((e) => e.message).join('\n')).toMatch(/cannot place the emitter scripts: .*(smbclient|NT_STATUS|connect)/i);
    expect(joinAnswer).toBe(`domain=sambaedu.lan\nusername=joiner\npassword=${JOIN}\n`);
    expect(artifacts['netlogon clonage-emitter.cmd']).toContain('CLONAGE_TOKEN=');
  });

  it('no pxelinux config, GRUB config, iPXE script, job description, netlogon script or dnsmasq file holds a secret', async () => {
    const boot = await allBootFiles(shell);
    expect(boot['pxelinux.cfg/default']).toMatch(/MENU PASSWD \$6\$rounds=50000\$/);
    expect(boot['grub/grub.cfg']).toMatch(/^password_pbkdf2 maintenance grub\.pbkdf2\.sha512\.100000\./m);
    // s101-pc01 and pc03 still armed: pxelinux, GRUB and iPXE each
    expect(Object.values(boot).filter((t) => t.includes('clonage.token=')).length).toBe(6);
    const files = { ...artifacts, ...boot };
    for (const f of ['dnsmasq.conf', 'dnsmasq.hosts']) files[f] = fs.readFileSync(path.join(shell.dataDir, f), 'utf8');
    expect(leaks(files, SECRETS)).toEqual([]);
  });

  it('no log line, event, target row or page holds a secret', async () => {
    const pages: Record<string, string> = {};
    for (const p of [`${M}/config`, `${M}/actions`, `${M}/actions/${smbFailed}`, `${M}/actions/${domainClone}`, `${M}/reports`, '/dhcp', '/admin/modules']) {
      pages[p] = (await admin.send('GET', p)).text;
    }
    const tables: Record<string, string> = {};
    for (const t of ['clonage_actions', 'clonage_targets', 'clonage_events', 'clonage_boot_plans', 'clonage_emitter_preparations', 'shell_sessions', 'shell_modules']) {
      tables[t] = JSON.stringify(shell.db.prepare(`SELECT * FROM ${t}`).all());
    }
    expect(leaks({ log: shell.logLines.join('\n'), ...pages, ...tables }, SECRETS)).toEqual([]);
    expect(shell.logLines.some((l) => l.includes('post-clone: join account for sambaedu.lan given'))).toBe(true);
  });

  it('no password is in the database files (main file and -wal): the Samba ones are sealed in shell_settings', () => {
    const dbBytes = () =>
      fs.readdirSync(shell.dataDir).filter((f) => f.startsWith('shell.sqlite')).map((f) => fs.readFileSync(path.join(shell.dataDir, f)).toString('latin1')).join('');
    const all = { MAINT, SMB, JOIN, admin: USERS.admin.password };
    expect(leaks({ 'sqlite+wal': dbBytes() }, all)).toEqual([]);
    shell.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(leaks({ sqlite: dbBytes() }, all)).toEqual([]);
    const rows = shell.db.prepare("SELECT key FROM shell_settings WHERE value LIKE '\"enc1:%'").all() as { key: string }[];
    expect(rows.map((r) => r.key).sort()).toEqual(['netlogon.smb.password', 'postclone.join.password']);
    // The module still reads them (the SMB placement above used the password, the join was given).
    expect(moduleSettings(shell.db).get('postclone.join.password')).toBe(JOIN);
  });

  it('no authentication file of smbclient is left behind in the module data', () => {
    const all = fs.readdirSync(shell.dataDir, { recursive: true }) as string[];
    const texts = all.map((f) => path.join(shell.dataDir, f)).filter((f) => fs.statSync(f).isFile() && !path.basename(f).startsWith('shell.sqlite'));
    expect(leaks(Object.fromEntries(texts.map((f) => [f, fs.readFileSync(f, 'latin1')])), { SMB, JOIN, MAINT })).toEqual([]);
  });
});
