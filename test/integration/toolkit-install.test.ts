import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ToolkitInstaller, type InstallJob } from '../../src/toolkits/toolkit-installer';
import { ToolkitRegistry } from '../../src/toolkits/toolkit-registry';
import { InputError } from '../../src/common/domain/errors';
import { memoryLogger } from '../../src/shell/logger';
import { startTestShell, USERS, loggedIn, type TestShell } from '../helpers/test-shell';

const FAKE_BUILD = path.resolve(__dirname, '../fixtures/toolkits/fake-build.sh');
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function settle(job: InstallJob, ms = 20_000): Promise<InstallJob> {
  const end = Date.now() + ms;
  while (job.state === 'running') {
    if (Date.now() > end) throw new Error(`install still running: ${job.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return job;
}

describe('toolkit installer', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-toolkits-'));
  const kernel = crypto.randomBytes(300_000);
  const initrd = crypto.randomBytes(500_000);
  let server: http.Server;
  let base: string;
  let changes = 0;
  const registry = new ToolkitRegistry(dir);
  const installer = new ToolkitInstaller({
    toolkitsDir: dir, moduleRoot: path.resolve(__dirname, '../..'), clock: { now: () => new Date() }, logger: memoryLogger(),
    // as BootService.refreshBootRoot does: the registry reads the folder again
    onChange: async () => { changes++; registry.refresh(); }, buildScript: FAKE_BUILD,
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const body = req.url === '/vmlinuz' ? kernel : req.url === '/initrd.img' ? initrd : null;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const request = (over: Partial<Parameters<ToolkitInstaller['download']>[0]> = {}) => ({
    name: 'sysrescue', version: '11.0', entries: ['shell' as const],
    kernelUrl: `${base}/vmlinuz`, kernelSha256: sha(kernel), initrdUrl: `${base}/initrd.img`, initrdSha256: sha(initrd), ...over,
  });

  test('a download whose SHA-256 matches is installed and the boot root refreshed', async () => {
    const job = await settle(installer.download(request()));
    expect([job.state, job.percent]).toEqual(['succeeded', 100]);
    const t = registry.get('sysrescue')!;
    expect(t.entries).toEqual(['shell']);
    expect(fs.readFileSync(path.join(t.dir, 'initrd.img')).equals(initrd)).toBe(true);
    expect(changes).toBe(1);
  });

  test('a wrong SHA-256 installs nothing and keeps the previous version', async () => {
    const job = await settle(installer.download(request({ initrdSha256: 'a'.repeat(64), version: '12.0' })));
    expect(job.state).toBe('failed');
    expect(job.lines.join('\n')).toMatch(/does not match/);
    expect(registry.get('sysrescue')!.version).toBe('11.0');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.install'))).toEqual([]);
  });

  test.each([
    ['name', { name: '../etc' }], ['name', { name: 'clonage' }], ['kernelUrl', { kernelUrl: 'file:///etc/passwd' }],
    ['kernelSha256', { kernelSha256: 'md5:abc' }], ['entries', { entries: [] }], ['version', { version: '1 2' }],
  ])('a bad %s is refused before anything is fetched', (field, over) => {
    expect(() => installer.download(request(over as never))).toThrow(expect.objectContaining({ field }) as InputError);
  });

  test('building our environment: progress from the script, then installed as "clonage"', async () => {
    const job = installer.build();
    expect(() => installer.build()).toThrow(/already running/);
    await settle(job);
    expect(job.state).toBe('succeeded');
    expect(job.lines.some((l) => l.includes('downloading'))).toBe(true);
    expect(registry.get('clonage')!.version).toBe('test-1');
  });

  test('a failed build leaves the installed environment untouched', async () => {
    const failing = new ToolkitInstaller({
      toolkitsDir: dir, moduleRoot: path.resolve(__dirname, '../..'), clock: { now: () => new Date() }, logger: memoryLogger(),
      onChange: async () => void changes++, buildScript: path.resolve(__dirname, '../fixtures/toolkits/fake-build-fails.sh'),
    });
    const job = await settle(failing.build());
    expect(job.state).toBe('failed');
    expect(job.lines.join('\n')).toMatch(/exited with 1/);
    expect(registry.get('clonage')!.version).toBe('test-1');
  });

  test('remove deletes the toolkit; removing an unknown one is refused', async () => {
    await installer.remove('sysrescue');
    expect(registry.get('sysrescue')).toBeNull();
    await expect(installer.remove('sysrescue')).rejects.toThrow(/not installed/);
    await expect(installer.remove('../x')).rejects.toThrow();
  });
});

describe('configuration page', () => {
  let shell: TestShell;
  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
  });
  afterAll(async () => shell?.stopAndClean());
  const login = (who: keyof typeof USERS) => loggedIn(shell, who);
  const form = {
    'menu.mode': 'graphical', 'menu.timeoutSeconds': '5', 'menu.maintenancePasswordHash': '',
    'clone.disk': 'sda', 'clone.compression': 'lzop', 'clone.domain': 'none', 'clone.minWaitMinutes': '5', 'clone.maxWaitMinutes': '10', 'clone.startTimeoutMinutes': '30',
    'clone.autoReboot': 'success', 'backup.retention': 'keep-last-3', 'wake.method': 'wol',
  };
  const setting = (k: string) => (shell.db.prepare("SELECT value FROM shell_settings WHERE owner = 'clonage' AND key = ?").get(k) as { value: string }).value;

  test('wizard defaults and menu settings are saved when all fields are valid', async () => {
    const admin = await login('admin');
    const csrf = await admin.csrf('/modules/clonage/config');
    expect((await admin.post('/modules/clonage/config', { ...form, _csrf: csrf })).status).toBe(303);
    expect([setting('clone.compression'), setting('clone.maxWaitMinutes'), setting('menu.mode')]).toEqual(['"lzop"', '10', '"graphical"']);
  });

  test('invalid values are shown next to their field and nothing is saved', async () => {
    const admin = await login('admin');
    const csrf = await admin.csrf('/modules/clonage/config');
    const r = await admin.post('/modules/clonage/config', { ...form, 'clone.maxWaitMinutes': '2', 'clone.disk': 'sda1;reboot', 'menu.mode': 'graphical', _csrf: csrf });
    expect(r.status).toBe(400);
    expect(r.text).toContain('data-field="clone.maxWaitMinutes"');
    expect(r.text).toContain('data-field="clone.disk"');
    expect(setting('clone.maxWaitMinutes')).toBe('10');
  });

  test('toolkit actions need system_is_admin and a CSRF token', async () => {
    const tech = await login('tech1');
    expect((await tech.post('/modules/clonage/config/toolkits/build', { _csrf: 'x' })).status).toBe(403);
    const admin = await login('admin');
    expect((await admin.post('/modules/clonage/config/toolkits/build', {})).status).toBe(403);
    const csrf = await admin.csrf('/modules/clonage/config');
    const bad = await admin.post('/modules/clonage/config/toolkits/download', { _csrf: csrf, name: 'x', version: '1', kernelUrl: 'ftp://x', kernelSha256: '0', entries: 'shell' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('data-field="dl_kernelUrl"');
  });
});
