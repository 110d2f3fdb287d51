/**
 * scripts/install-service.sh into a temporary root, then the installed service started as its
 * unit describes (test/helpers/installed-service.ts: dedicated user, only CAP_NET_BIND_SERVICE,
 * read-only system, private network namespace): TFTP answers on port 69, logs are JSON lines.
 * Then an upgrade over an older database (kept, copied, migrated) and uninstall with/without --purge.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import Database from 'better-sqlite3';
import { netnsUnavailableReason } from '../helpers/netns';
import { idsIn, startInstalled } from '../helpers/installed-service';

const REPO = path.resolve(__dirname, '../..');
const INSTALL = path.join(REPO, 'scripts/install-service.sh');
const UNIT_SRC = path.join(REPO, 'scripts/systemd/clonage.service');
const PXELINUX = '/usr/lib/PXELINUX/pxelinux.0';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const overlay = () => fs.readFileSync('/proc/filesystems', 'utf8').includes('overlay');
const skip =
  netnsUnavailableReason() ??
  ['setpriv', 'unshare', 'nsenter', 'systemd-sysusers', 'systemd-analyze', 'curl'].find((c) => !has(c)) ??
  (overlay() ? null : 'no overlay file system') ??
  (fs.existsSync(PXELINUX) ? null : `${PXELINUX} missing`);
if (skip) console.warn(`service install test SKIPPED: ${skip}`);

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/** A target root with only root in its user database: systemd-sysusers --root writes there, not in /etc. */
function emptyRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-service-root-'));
  fs.mkdirSync(path.join(root, 'etc'));
  const w = (f: string, s: string, mode = 0o644) => fs.writeFileSync(path.join(root, 'etc', f), s, { mode });
  w('passwd', 'root:x:0:0:root:/root:/bin/bash\n');
  w('group', 'root:x:0:\n');
  w('shadow', 'root:*:19000:0:99999:7:::\n', 0o600);
  w('gshadow', 'root:*::\n', 0o600);
  fs.copyFileSync('/etc/login.defs', path.join(root, 'etc/login.defs'));
  return root;
}

(skip ? describe.skip : describe)('installed service', () => {
  let root: string;
  let installLog: string;
  const at = (p: string) => path.join(root, p);
  const unitFile = () => at('etc/systemd/system/clonage.service');
  const startedOk = async () => {
    const svc = startInstalled(root, unitFile());
    await svc.waitForLog((e) => typeof e.stdout === 'string' && e.stdout.startsWith('Admin shell ready'), 120000);
    return svc;
  };

  beforeAll(() => {
    if (!fs.existsSync(path.join(REPO, 'dist/src/shell/main.js'))) run('npx', ['tsc', '-p', path.join(REPO, 'tsconfig.json')]);
    root = emptyRoot();
    installLog = run('bash', [INSTALL, 'install', '--root', root, '--no-systemctl']);
  }, 600000);

  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test('lays out the application, the configuration, the data dir and the unit', () => {
    const { uid, gid } = idsIn(root, 'clonage');
    expect(uid).toBeGreaterThan(0);
    expect(fs.readFileSync(at('etc/passwd'), 'utf8')).toMatch(/^clonage:x:\d+:\d+:[^:]*:\/var\/lib\/clonage:\/usr\/sbin\/nologin$/m);
    expect(fs.existsSync(at('usr/lib/clonage/dist/src/shell/main.js'))).toBe(true);
    expect(fs.existsSync(at('usr/lib/clonage/node_modules/better-sqlite3'))).toBe(true);
    expect(fs.existsSync(at('usr/lib/clonage/node_modules/jest'))).toBe(false); // production dependencies only
    expect(fs.existsSync(at('usr/lib/clonage/test'))).toBe(false); // no demo directory with known passwords
    const data = fs.statSync(at('var/lib/clonage'));
    expect([data.mode & 0o777, data.uid, data.gid]).toEqual([0o700, uid, gid]);
    const cfg = fs.statSync(at('etc/clonage/config.json'));
    expect([cfg.mode & 0o777, cfg.uid, cfg.gid]).toEqual([0o640, 0, gid]);
    expect(fs.statSync(at('etc/clonage/clonage.env')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(at('etc/clonage/config.json'), 'utf8'))).toMatchObject({
      dataDir: '/var/lib/clonage',
      moduleSettings: { clonage: { 'tftp.port': 69 } },
    });
    expect(fs.readFileSync(unitFile(), 'utf8')).toBe(fs.readFileSync(UNIT_SRC, 'utf8'));
    expect(installLog).toMatch(/created the system user clonage/);
  });

  test('puts the clonage command line on the PATH: a wrapper running the installed application', () => {
    expect(fs.statSync(at('usr/bin/clonage')).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(at('usr/bin/clonage'), 'utf8')).toMatch(/^#!\/bin\/sh\n(#.*\n)*exec \/usr\/bin\/node \/usr\/lib\/clonage\/dist\/src\/cli\/main\.js "\$@"\n$/);
    // the installed copy runs (its paths are the real system's, so it is started by its installed path under --root)
    expect(run('node', [at('usr/lib/clonage/dist/src/cli/main.js'), '--help'])).toMatch(/^Usage: clonage <command>/);
  });

  test('systemd-analyze verifies the unit and rates its exposure low', () => {
    expect(run('systemd-analyze', ['verify', unitFile()]).trim()).toBe('');
    // --threshold: fails above 2.5 on systemd's 0-10 exposure scale
    expect(run('systemd-analyze', ['security', '--offline=true', '--threshold=25', unitFile()])).toMatch(/Overall exposure level for clonage\.service: [0-2]\.\d/);
  });

  test('serves TFTP on port 69 as the clonage user with CAP_NET_BIND_SERVICE only, logging JSON lines', async () => {
    const svc = await startedOk();
    try {
      const status = fs.readFileSync(`/proc/${svc.pid}/status`, 'utf8');
      const { uid } = idsIn(root, 'clonage');
      expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'));
      for (const set of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb']) expect(status).toMatch(new RegExp(`^${set}:\\s+0000000000000400$`, 'm'));
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);

      const tftp = svc.inNetns('curl', ['-sS', '--max-time', '20', 'tftp://127.0.0.1:69/pxelinux.0']);
      expect(tftp.stderr).toBe('');
      expect(tftp.stdout.equals(fs.readFileSync(PXELINUX))).toBe(true);
      const http = svc.inNetns('curl', ['-sS', '--max-time', '20', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:8080/']);
      expect(http.stdout.toString()).toMatch(/^(200|302|303)$/);

      // the same user without the capability cannot bind port 69: the capability is what allows it
      const { gid } = idsIn(root, 'clonage');
      const bare = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--',
        process.execPath, '-e', "require('dgram').createSocket('udp4').on('error', (e) => { console.log(e.code); process.exit(0) }).bind(69, '127.0.0.2')"],
      { encoding: 'utf8', timeout: 20000 });
      expect(bare.stdout.trim()).toBe('EACCES');

      expect(fs.existsSync(at('var/lib/clonage/shell.sqlite'))).toBe(true);
      const lines = svc.stderrLines.filter((l) => l.trim() !== '');
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  }, 240000);

  test('an upgrade keeps the configuration and the images, copies the database, then the new version migrates it', async () => {
    // the database as an older release left it: without clonage migration 6, with a saved setting
    const dbFile = at('var/lib/clonage/shell.sqlite');
    const old = new Database(dbFile);
    old.exec(`ALTER TABLE clonage_events DROP COLUMN message_key; ALTER TABLE clonage_events DROP COLUMN message_vars;
      DELETE FROM schema_migrations WHERE owner = 'clonage' AND id = 6;
      UPDATE shell_settings SET value = '17' WHERE owner = 'clonage' AND key = 'menu.timeoutSeconds';`);
    old.close();
    const config = fs.readFileSync(at('etc/clonage/config.json'), 'utf8').replace('"port": 8080', '"port": 8080 ');
    fs.writeFileSync(at('etc/clonage/config.json'), config);
    const image = at('var/lib/clonage/modules/clonage/images/keep-me/manifest.json');
    fs.mkdirSync(path.dirname(image), { recursive: true });
    fs.writeFileSync(image, '{}');

    const log = run('bash', [INSTALL, 'install', '--root', root, '--no-systemctl']);
    expect(log).toMatch(/kept .*config\.json/);
    expect(fs.readFileSync(at('etc/clonage/config.json'), 'utf8')).toBe(config);
    expect(fs.readFileSync(image, 'utf8')).toBe('{}');
    const backups = fs.readdirSync(at('var/lib/clonage/backups'));
    expect(backups).toHaveLength(1);
    const copy = new Database(path.join(at('var/lib/clonage/backups'), backups[0]), { readonly: true });
    expect((copy.prepare('PRAGMA table_info(clonage_events)').all() as { name: string }[]).map((c) => c.name)).not.toContain('message_key');
    copy.close();

    const svc = await startedOk();
    expect(await svc.stop()).toBe(0);
    const db = new Database(dbFile, { readonly: true });
    try {
      expect(db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE owner = 'clonage' AND id = 6").get()).toEqual({ n: 1 });
      expect((db.prepare('PRAGMA table_info(clonage_events)').all() as { name: string }[]).map((c) => c.name)).toContain('message_key');
      expect(db.prepare("SELECT value FROM shell_settings WHERE owner = 'clonage' AND key = 'menu.timeoutSeconds'").get()).toEqual({ value: '17' });
    } finally {
      db.close();
    }
  }, 600000);

  test('uninstall keeps configuration and images; --purge removes them and the user', () => {
    run('bash', [INSTALL, 'uninstall', '--root', root, '--no-systemctl']);
    expect(fs.existsSync(at('usr/lib/clonage'))).toBe(false);
    expect(fs.existsSync(unitFile())).toBe(false);
    expect(fs.existsSync(at('usr/bin/clonage'))).toBe(false);
    expect(fs.existsSync(at('etc/clonage/config.json'))).toBe(true);
    expect(fs.existsSync(at('var/lib/clonage/modules/clonage/images/keep-me/manifest.json'))).toBe(true);
    run('bash', [INSTALL, 'uninstall', '--purge', '--root', root, '--no-systemctl']);
    expect(fs.existsSync(at('etc/clonage'))).toBe(false);
    expect(fs.existsSync(at('var/lib/clonage'))).toBe(false);
    expect(fs.readFileSync(at('etc/passwd'), 'utf8')).not.toMatch(/^clonage:/m);
  });
});
