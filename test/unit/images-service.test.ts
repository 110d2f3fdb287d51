/**
 * The image store's agent endpoints over HTTP, behind the real action service (tokens, states):
 * uploads, commit, restore reads, refusals, retention after a backup, and the reports pages.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { ModuleParts } from '../../src/index';
import type { FakeHost } from '../helpers/fake-host';
import { type ImageRig, startImageRig } from '../helpers/image-rig';
import type { InProcessAgents } from '../helpers/in-process-agents';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const MAC1 = '02:00:00:00:00:01';
const TABLE = Buffer.from('label: dos\nlabel-id: 0x1234\ndevice: /dev/sda\nunit: sectors\nsector-size: 512\n\n/dev/sda1 : start=2048, size=163840, type=83\n');

describe('image store agent endpoints', () => {
  let rig: ImageRig;
  let agents: InProcessAgents;
  let host: FakeHost;
  let m: ModuleParts;
  let base: string;

  beforeEach(async () => {
    rig = await startImageRig();
    ({ host, parts: m, base, agents } = rig);
  });
  afterEach(() => rig.stop());

  const runningJob = (type: 'backup' | 'restore', machine: string, params: Record<string, string> = {}) => rig.runningJob(type, machine, params);
  const put = (url: string, token: string, data: Buffer, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'PUT', body: data, headers: { 'x-clonage-session': token, 'content-type': 'application/octet-stream', 'x-sha256': sha(data), ...headers } });
  const get = (url: string, token: string) => fetch(url, { headers: { 'x-clonage-session': token } });

  /** A complete backup of pc01 through HTTP; returns the chunk it stored. */
  async function backup(image: string, chunk = randomBytes(200_000)) {
    const j = await runningJob('backup', 'pc01', { image });
    expect(j.job).toContain('store=server\nchunk_mb=64\n');
    for (const [name, data] of [['table.sfdisk', TABLE], ['sda1.pc.zst.000', chunk]] as const) {
      expect((await put(`${j.url}/${name}`, j.session, data)).status).toBe(201);
    }
    const text = ['clonage-image 1', 'disk sda 209715200 512', 'chunk_bytes 67108864', `table table.sfdisk ${TABLE.length} ${sha(TABLE)}`,
      'tool partclone 0.3.23', 'part 1 sda1 ext4 partclone.extfs partclone zstd 83886080 11058176',
      `chunk 1 sda1.pc.zst.000 ${chunk.length} ${sha(chunk)}`, 'end 1', ''].join('\n');
    const res = await fetch(`${j.url}/commit`, { method: 'POST', body: text, headers: { 'x-clonage-session': j.session, 'content-type': 'text/plain' } });
    return { ...j, res, text, chunk, commitBody: await res.text() };
  }
  const finish = (j: { jobId: string; session: string }) => agents.result(j.jobId, j.session, { status: 'succeeded', exit_code: '0' });
  const rows = () => host.db.prepare('SELECT image, status, location, size_bytes AS size, deleted_reason AS why FROM clonage_backups ORDER BY id').all();

  it('backup: uploads, commit verifies and records; restore reads the manifest and the files', async () => {
    const b = await backup('img_a');
    expect(b.res.status).toBe(200);
    expect(b.commitBody).toBe(`image=img_a\nbytes=${TABLE.length + b.chunk.length}\ndeleted=\n`);
    const dir = path.join(host.dataDir, 'images', '02-00-00-00-00-01', 'img_a');
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', 'sda1.pc.zst.000', 'table.sfdisk']);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['img_a']);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ image: 'img_a', mac: MAC1, machine: 'pc01', disk: { name: 'sda' }, partitionTable: { label: 'dos', text: TABLE.toString() } });
    expect(manifest.partitions[0].chunks).toEqual([{ file: 'sda1.pc.zst.000', bytes: b.chunk.length, sha256: sha(b.chunk) }]);
    expect(rows()).toEqual([{ image: 'img_a', status: 'succeeded', location: 'server', size: TABLE.length + b.chunk.length, why: null }]);
    finish(b);

    const r = await runningJob('restore', 'pc01');
    expect(r.job).toContain('image=\nstore=server\n');
    const m = await get(`${r.url}/manifest`, r.session);
    expect(m.status).toBe(200);
    expect(await m.text()).toMatch(/^clonage-image 1\nimage img_a\ndisk sda 209715200 512\n[\s\S]*\nchunk 1 sda1\.pc\.zst\.000 200000 [0-9a-f]{64}\nend 1\n$/);
    const c = await get(`${r.url}/sda1.pc.zst.000`, r.session);
    expect(c.status).toBe(200);
    expect(sha(Buffer.from(await c.arrayBuffer()))).toBe(sha(b.chunk));
    expect((await get(`${r.url}/manifest.json`, r.session)).status).toBe(200);
    // Only files the manifest lists; the manifest route is the only way to the manifest.
    expect((await get(`${r.url}/other.000`, r.session)).status).toBe(404);
    expect((await get(`${r.url}/..%2Fimg_a%2Fmanifest.json`, r.session)).status).toBe(400);
    // A restore cannot write, a wrong token reads nothing.
    expect((await put(`${r.url}/x.000`, r.session, Buffer.from('x'))).status).toBe(409);
    expect((await get(`${r.url}/sda1.pc.zst.000`, 'A'.repeat(43))).status).toBe(403);
    expect((await get(`${r.url}/sda1.pc.zst.000`, '')).status).toBe(401);
  });

  it('a restore of a machine without images, or of an unknown image, is refused before launch; one deleted since, by the agent endpoint (404)', async () => {
    await expect(runningJob('restore', 'pc02')).rejects.toThrow(/pc02 has no good image on the server/);
    await expect(runningJob('restore', 'pc03', { image: 'nope' })).rejects.toThrow(/pc03 has no good image nope on the server/);
    const b = await backup('img_gone');
    finish(b);
    const r = await runningJob('restore', 'pc01', { image: 'img_gone' });
    host.db.prepare("UPDATE clonage_backups SET status = 'deleted' WHERE image = 'img_gone'").run();
    expect(await (await get(`${r.url}/manifest`, r.session)).text()).toMatch(/no image img_gone on the server for pc01/);
  });

  it('uploads: SHA-256 header required and checked, octet-stream only, backup jobs only', async () => {
    const j = await runningJob('backup', 'pc01');
    const data = randomBytes(1000);
    expect((await put(`${j.url}/a.000`, j.session, data, { 'x-sha256': '' })).status).toBe(400);
    expect((await put(`${j.url}/a.000`, j.session, data, { 'x-sha256': sha('other') })).status).toBe(422);
    expect((await put(`${j.url}/a.000`, j.session, data, { 'content-type': 'text/plain' })).status).toBe(400);
    expect((await put(`${j.url}/a.000`, 'B'.repeat(43), data)).status).toBe(403);
    expect((await put(`${j.url}/manifest.json`, j.session, data)).status).toBe(400);
    expect((await get(`${j.url}/manifest`, j.session)).status).toBe(409);
    const staging = path.join(host.dataDir, 'images', '02-00-00-00-00-01', `.incoming-${j.jobId}`);
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  it('a chunk changed on the server before the commit: 422, the uploads are dropped, nothing recorded', async () => {
    const j = await runningJob('backup', 'pc01');
    const chunk = randomBytes(5000);
    await put(`${j.url}/table.sfdisk`, j.session, TABLE);
    await put(`${j.url}/sda1.pc.zst.000`, j.session, chunk);
    const staging = path.join(host.dataDir, 'images', '02-00-00-00-00-01', `.incoming-${j.jobId}`);
    fs.writeFileSync(path.join(staging, 'sda1.pc.zst.000'), randomBytes(5000));
    const text = ['clonage-image 1', 'disk sda 1000000 512', `table table.sfdisk ${TABLE.length} ${sha(TABLE)}`,
      'part 1 sda1 ext4 partclone.extfs partclone zstd 500000 1000', `chunk 1 sda1.pc.zst.000 5000 ${sha(chunk)}`, 'end 1'].join('\n');
    const res = await fetch(`${j.url}/commit`, { method: 'POST', body: text, headers: { 'x-clonage-session': j.session, 'content-type': 'text/plain' } });
    expect(res.status).toBe(422);
    expect(await res.text()).toMatch(/sda1\.pc\.zst\.000: SHA-256 on the server/);
    expect(fs.existsSync(staging)).toBe(false);
    expect(rows()).toEqual([]);
  });

  it('retention after a backup: keep-last-2 deletes the oldest image (rows marked, files removed); same name replaces', async () => {
    host.settings.set('backup.retention', 'keep-last-2');
    for (const [i, name] of ['img_1', 'img_2', 'img_3'].entries()) {
      host.clock.set(`2025-03-1${i}T08:00:00Z`);
      const b = await backup(name);
      expect(b.res.status).toBe(200);
      expect(b.commitBody).toContain(`deleted=${i === 2 ? 'img_1' : ''}\n`);
      finish(b);
    }
    host.clock.set('2025-03-14T08:00:00Z');
    finish(await backup('img_3'));
    expect(rows()).toEqual([
      { image: 'img_1', status: 'deleted', location: 'server', size: expect.any(Number), why: 'retention keep-last-2' },
      { image: 'img_2', status: 'succeeded', location: 'server', size: expect.any(Number), why: null },
      { image: 'img_3', status: 'deleted', location: 'server', size: expect.any(Number), why: 'replaced by a newer backup with the same name' },
      { image: 'img_3', status: 'succeeded', location: 'server', size: expect.any(Number), why: null },
    ]);
    expect(fs.readdirSync(path.join(host.dataDir, 'images', '02-00-00-00-00-01')).sort()).toEqual(['img_2', 'img_3']);
  });

  it('retention leaves a protected image alone (image library): keep-last-1 keeps it and the newest', async () => {
    host.settings.set('backup.retention', 'keep-last-1');
    host.clock.set('2025-03-10T08:00:00Z');
    finish(await backup('keep_me'));
    host.db.prepare("INSERT INTO clonage_image_protection (backup_id, protected_by, protected_at) SELECT id, 'admin', 'x' FROM clonage_backups WHERE image = 'keep_me'").run();
    for (const [i, name] of ['img_2', 'img_3'].entries()) {
      host.clock.set(`2025-03-1${i + 1}T08:00:00Z`);
      finish(await backup(name));
    }
    expect(rows().map((r) => [(r as { image: string }).image, (r as { status: string }).status])).toEqual([
      ['keep_me', 'succeeded'], ['img_2', 'deleted'], ['img_3', 'succeeded'],
    ]);
  });

  it('reports pages: machines list and one machine with its parsed report, history and backups', async () => {
    const b = await backup('img_a');
    finish(b);
    const j = await runningJob('report' as 'backup', 'pc01');
    agents.report(j.jobId, j.session, [
      '### agent', 'job=x iface=eth0', '### disk sda', 'size=209715200', 'bus=nvme', 'model=Samsung SSD 980 <b>', 'removable=0', 'auto=yes', '### disk sdb', 'size=0', 'bus=usb', 'removable=1', '### sfdisk -d sda', 'label: dos', 'device: /dev/sda', 'unit: sectors', 'sector-size: 512', '',
      '/dev/sda1 : start=        2048, size=      163840, type=83, bootable', '/dev/sda2 : start=      165888, size=      243712, type=7',
      '### partitions', '### blkid', '/dev/sda1: UUID="u1" TYPE="ext4"', '/dev/sda2: LABEL="Windows" TYPE="ntfs"',
      '### df', 'Filesystem 1K-blocks Used Available Use% Mounted on', '/dev/sda1 79285 14000 60000 19% sda1 ext4', ''].join('\n'));
    const list = await (await fetch(`${base}/modules/clonage/reports`)).text();
    expect(list).toContain('href="reports/02-00-00-00-00-01"');
    expect(list).toContain('img_a');
    const page = await (await fetch(`${base}/modules/clonage/reports/02-00-00-00-00-01`)).text();
    expect(page).toMatch(/<tr data-partition="sda1"><td>sda1 \*<\/td><td class="num">83,9 Mo<\/td>/);
    expect(page).toMatch(/data-field="fs">ntfs</);
    // partition types by name, never the sfdisk code (issue 16 item 8)
    expect(page).toContain('<td data-field="type" data-type="83">Linux</td>');
    expect(page).toContain('<td data-field="type" data-type="7">NTFS / exFAT (Windows)</td>');
    // Every disk with its bus, model and table; the one a job without disk takes; the USB one removable.
    expect(page).toMatch(/Disque sda — 209,7 Mo, table MBR \(DOS\)<\/h3>\s*<p class="disk-facts" data-bus="nvme">Bus nvme, modèle Samsung SSD 980 &lt;b&gt; — le disque qu’une action sans disque nommé prend sur ce PC<\/p>/);
    expect(page).toMatch(/<p class="disk-facts" data-bus="usb">Bus usb, modèle — — amovible \(jamais pris par défaut\)<\/p>/);
    expect(page).toMatch(/data-field="free">61,4 Mo</);
    expect(page).toMatch(/data-image="img_a" data-status="succeeded"/);
    expect(page).toContain('sda1 ext4 (11,1 Mo / 83,9 Mo)');
    // Delegated users see their parcs' machines only.
    expect((await fetch(`${base}/modules/clonage/reports/02-00-00-00-00-01`, { headers: { 'x-test-user': 'prof' } })).status).toBe(403);
    expect(await (await fetch(`${base}/modules/clonage/reports`, { headers: { 'x-test-user': 'prof' } })).text()).not.toContain('img_a');
    expect((await fetch(`${base}/modules/clonage/reports/02-00-00-00-00-04`)).status).toBe(404);
  });
});
