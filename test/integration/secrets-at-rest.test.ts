/**
 * Secrets at rest (issue 12): the data dir is the service's alone. An install from before (0755
 * folders, 0644 database and image) is fixed at start; what the running shell creates afterwards
 * (database journal, sessions, module folders) is born 0600/0700.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client, moduleSettings } from '../helpers/hostile';
import { startTestShell } from '../helpers/test-shell';

/** Every entry under `dir` (itself included) whose mode lets group or others in: `path mode`. */
function openToOthers(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) out.push(`${path.relative(dir, p) || '.'} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
  };
  walk(dir);
  return out;
}

describe('service passwords sealed at rest', () => {
  const CLEAR = { 'smb.password': 'Smb-At-Rest-1!', 'netlogon.smb.password': 'Netlogon-At-Rest-2!', 'postclone.join.password': 'Join-At-Rest-3!', 'wake.rpc.password': 'Rpc-At-Rest-4!' };
  const dbBytes = (dataDir: string) =>
    fs.readdirSync(dataDir).filter((f) => f.startsWith('shell.sqlite')).map((f) => fs.readFileSync(path.join(dataDir, f)).toString('latin1')).join('');

  it('the four service passwords are never in the database files (+ -wal), the module reads them, an install from before is sealed at start, a rotated key re-seals', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-sealed-'));
    let shell = await startTestShell({}, { dataDir, autoEnable: ['clonage'] });
    try {
      const settings = moduleSettings(shell.db);
      for (const [k, v] of Object.entries(CLEAR)) settings.set(k, v);
      for (const [k, v] of Object.entries(CLEAR)) expect(settings.get(k)).toBe(v);
      const bytes = dbBytes(dataDir);
      for (const v of Object.values(CLEAR)) expect(bytes.includes(v)).toBe(false);
      expect((fs.statSync(path.join(dataDir, 'secrets.key')).mode & 0o777).toString(8)).toBe('600');

      // An install from before: a password written in clear, then a restart.
      await shell.stop();
      const raw = new Database(path.join(dataDir, 'shell.sqlite'));
      raw.prepare("UPDATE shell_settings SET value = ? WHERE owner = 'clonage' AND key = 'smb.password'").run(JSON.stringify('Old-Clear-Pw-5'));
      raw.close();
      shell = await startTestShell({}, { dataDir, autoEnable: ['clonage'] });
      shell.db.pragma('wal_checkpoint(TRUNCATE)');
      shell.db.exec('VACUUM'); // free pages may still hold the value written in clear above
      expect(dbBytes(dataDir).includes('Old-Clear-Pw-5')).toBe(false);
      expect(moduleSettings(shell.db).get('smb.password')).toBe('Old-Clear-Pw-5');

      // Rotation (docs/security.md): the key renamed .old, a start re-seals with a new one.
      await shell.stop();
      const before = fs.readFileSync(path.join(dataDir, 'secrets.key'), 'utf8');
      fs.renameSync(path.join(dataDir, 'secrets.key'), path.join(dataDir, 'secrets.key.old'));
      shell = await startTestShell({}, { dataDir, autoEnable: ['clonage'] });
      expect(fs.readFileSync(path.join(dataDir, 'secrets.key'), 'utf8')).not.toBe(before);
      fs.rmSync(path.join(dataDir, 'secrets.key.old'));
      expect(moduleSettings(shell.db).get('netlogon.smb.password')).toBe(CLEAR['netlogon.smb.password']);
      expect(moduleSettings(shell.db).get('smb.password')).toBe('Old-Clear-Pw-5');
      expect(shell.logLines.join('\n')).not.toMatch(/At-Rest|Old-Clear/);
    } finally {
      await shell.stopAndClean();
    }
  });
});

describe('data dir permissions', () => {
  it('fixes an old install at start and creates nothing readable by others while running', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-modes-'));
    const images = path.join(dataDir, 'modules', 'clonage', 'images', 'pc01');
    fs.mkdirSync(images, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(images, 'sda1.img'), 'DISK', { mode: 0o644 });
    fs.writeFileSync(path.join(images, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    fs.symlinkSync('/etc/hostname', path.join(dataDir, 'link-out')); // never followed, never changed
    for (const p of [dataDir, path.join(dataDir, 'modules'), path.join(dataDir, 'modules', 'clonage'), path.dirname(images), images]) fs.chmodSync(p, 0o755);
    fs.chmodSync(path.join(images, 'sda1.img'), 0o644);
    const hostnameMode = fs.statSync('/etc/hostname').mode;
    expect(openToOthers(dataDir).length).toBeGreaterThan(0);

    const shell = await startTestShell({}, { dataDir, autoEnable: ['clonage'] });
    try {
      // Activity that writes: logins (sessions, WAL), a module setting, a DHCP reservation.
      const admin = await Client.as(shell.url, 'admin');
      expect((await admin.send('POST', '/dhcp/reservations', { form: { name: 'modepc', ip: '10.77.0.63', mac: '52:54:00:aa:bb:63' } })).status).toBe(303);
      // The boot root's loaders are Debian's public files, copied (or hard-linked) with their mode;
      // nothing else may let group or others in, and the 0700 data dir keeps them out of these too.
      expect(openToOthers(dataDir).filter((e) => !e.startsWith('modules/clonage/tftproot/'))).toEqual([]);
      expect((fs.statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
      expect((fs.statSync(path.join(dataDir, 'shell.sqlite')).mode & 0o777).toString(8)).toBe('600');
      expect((fs.statSync(path.join(images, 'sda1.img')).mode & 0o777).toString(8)).toBe('600');
      expect((fs.statSync(path.join(images, 'run.sh')).mode & 0o777).toString(8)).toBe('700');
      for (const f of fs.readdirSync(dataDir).filter((n) => n.startsWith('shell.sqlite'))) {
        expect([f, (fs.statSync(path.join(dataDir, f)).mode & 0o777).toString(8)]).toEqual([f, '600']);
      }
      expect(fs.statSync('/etc/hostname').mode).toBe(hostnameMode);
      expect(shell.logLines.some((l) => l.includes('data dir: group and other permissions removed'))).toBe(true);
    } finally {
      await shell.stopAndClean();
    }
  });
});
