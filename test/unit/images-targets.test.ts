/**
 * Storage targets other than the server (store=partition / smb): parameter validation, the job
 * lines the agent gets, and the commit of an image the agent wrote itself (manifest only, a row
 * with location partition and verifiedBy agent, retention answered to the agent).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseActionParams, paramDefaultsFrom } from '../../src/actions/params/action-params';
import { BUILTIN_DEFAULTS } from '../../src/actions/params/clone-params';
import { parseStoragePart, partitionDisk } from '../../src/actions/params/store-params';
import type { ModuleParts } from '../../src/index';
import { type FakeHost, MemorySettings, USERS } from '../helpers/fake-host';
import { type ImageRig, startImageRig } from '../helpers/image-rig';
import type { InProcessAgents } from '../helpers/in-process-agents';
import { ModuleSettings } from '../../src/settings/module-settings';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const now = new Date('2025-03-10T10:00:00Z');
const ctx = { receivers: 1, now };
const fieldsOf = (f: () => unknown): Record<string, string> => {
  try {
    f();
    return {};
  } catch (e) {
    return (e as { errors?: Record<string, string> }).errors ?? { error: String(e) };
  }
};

describe('store and storage_part parameters', () => {
  it('backup/restore accept server, partition and smb; partition carries storage_part (auto by default)', () => {
    expect(parseActionParams('backup', { store: 'partition' }, ctx)).toMatchObject({ store: 'partition', storagePart: 'auto' });
    expect(parseActionParams('restore', { store: 'partition', storage_part: 'sda5' }, ctx)).toMatchObject({ store: 'partition', storagePart: 'sda5' });
    expect(parseActionParams('backup', { store: 'partition', disk: 'nvme0n1', storage_part: 'nvme0n1p5' }, ctx)).toMatchObject({ storagePart: 'nvme0n1p5' });
    expect(parseActionParams('backup', {}, ctx)).toMatchObject({ store: 'server' });
    expect(parseActionParams('backup', { store: 'server', storage_part: 'sda5' }, ctx)).not.toHaveProperty('storagePart');
    expect(parseActionParams('restore', { store: 'smb' }, ctx)).toMatchObject({ store: 'smb' });
  });

  it('refuses a bad store and a bad storage_part, naming the field', () => {
    for (const store of ['nfs', 'Server', 'partition;reboot', ' ']) {
      if (store.trim() === '') continue;
      expect(Object.keys(fieldsOf(() => parseActionParams('backup', { store }, ctx)))).toContain('store');
    }
    expect(Object.keys(fieldsOf(() => parseActionParams('backup', { store: ['server', 'smb'] }, ctx)))).toContain('store');
    for (const part of ['sda', 'sda0', 'sda5;ls', '../sda5', 'nvme0n1', 'CLONAGE', 'sdb5', 'sda5 ', 'mmcblk0', 'sda1234']) {
      expect({ part, f: Object.keys(fieldsOf(() => parseActionParams('restore', { disk: 'sda', store: 'partition', storage_part: part }, ctx))) })
        .toEqual({ part, f: part === 'sda5 ' ? [] : ['storage_part'] });
    }
    expect(() => parseStoragePart({ storage_part: 'sdb5' }, 'sda')).toThrow(/sdb5 is not a partition of the disk sda/);
    // The disk left to the agent: it checks the partition against the disk it chose.
    expect(parseStoragePart({ storage_part: 'sdb5' }, '')).toBe('sdb5');
    expect([partitionDisk('sda5'), partitionDisk('nvme0n1p5'), partitionDisk('mmcblk0p2')]).toEqual(['sda', 'nvme0n1', 'mmcblk0']);
  });

  it('the default store is the backup.target setting, server when it is unusable', () => {
    expect(paramDefaultsFrom(new ModuleSettings(new MemorySettings({ 'backup.target': 'partition' }))).store).toBe('partition');
    expect(paramDefaultsFrom(new ModuleSettings(new MemorySettings({ 'backup.target': 'tape' }))).store).toBe('server');
    expect(paramDefaultsFrom(new ModuleSettings(new MemorySettings({}))).store).toBe(BUILTIN_DEFAULTS.store);
    const d = paramDefaultsFrom(new ModuleSettings(new MemorySettings({ 'backup.target': 'partition' })));
    expect(parseActionParams('backup', {}, { ...ctx, defaults: d })).toMatchObject({ store: 'partition', storagePart: 'auto' });
  });
});

describe('agent-written images: commit over HTTP', () => {
  let rig: ImageRig;
  let agents: InProcessAgents;
  let host: FakeHost;
  let m: ModuleParts;

  beforeEach(async () => {
    rig = await startImageRig();
    ({ host, parts: m, agents } = rig);
  });
  afterEach(() => rig.stop());

  const runningJob = (type: 'backup' | 'restore', params: Record<string, string>) => rig.runningJob(type, 'pc01', params);
  const manifest = (image: string, store = 'store partition sda3') => ['clonage-image 1', `image ${image}`, 'disk sda 209715200 512', 'chunk_bytes 67108864',
    store, `table table.sfdisk 120 ${sha('t')}`, 'part 1 sda1 ext4 partclone.extfs partclone zstd 83886080 11058176',
    `chunk 1 sda1.pc.zst.000 5000 ${sha('c')}`, 'part 3 sda3 clonage_store none none none 62914560 0', 'end 1', ''].filter(Boolean).join('\n');
  const commit = (url: string, token: string, text: string) =>
    fetch(`${url}/commit`, { method: 'POST', body: text, headers: { 'x-clonage-session': token, 'content-type': 'text/plain' } });
  const rows = () => host.db.prepare('SELECT image, status, location, deleted_reason AS why FROM clonage_backups ORDER BY id').all();

  it('the job says store=partition storage_part=…; the commit records a partition row verified by the agent, no file on the server', async () => {
    const j = await runningJob('backup', { image: 'img_a', store: 'partition', storage_part: 'sda3' });
    expect(j.job).toContain('image=img_a\nstore=partition\nstorage_part=sda3\nchunk_mb=64\n');
    // Nothing is uploaded to the server for such a job.
    const put = await fetch(`${j.url}/x.000`, { method: 'PUT', body: 'x', headers: { 'x-clonage-session': j.session, 'content-type': 'application/octet-stream', 'x-sha256': sha('x') } });
    expect(put.status).toBe(409);
    expect((await commit(j.url, j.session, manifest('img_a', 'store partition sda5'))).status).toBe(400); // not the job's sda3
    const res = await commit(j.url, j.session, manifest('img_a'));
    expect([res.status, await res.text()]).toEqual([200, 'image=img_a\nbytes=5120\ndeleted=\n']);
    expect(rows()).toEqual([{ image: 'img_a', status: 'succeeded', location: 'partition', why: null }]);
    const m = JSON.parse(String((host.db.prepare('SELECT manifest_json AS m FROM clonage_backups').get() as { m: string }).m));
    expect(m).toMatchObject({ location: 'partition', verifiedBy: 'agent', storagePartition: 'sda3', partitionTable: { label: 'unknown', text: '' } });
    expect(m.partitions.map((p: { name: string; fs: string; mode: string }) => `${p.name}:${p.fs}:${p.mode}`)).toEqual(['sda1:ext4:partclone', 'sda3:clonage_store:none']);
    expect(fs.existsSync(path.join(host.dataDir, 'images', '02-00-00-00-00-01', 'img_a'))).toBe(false);
  });

  it('refused: a manifest without its store line, another disk, a cut body; no row', async () => {
    const j = await runningJob('backup', { image: 'img_b', store: 'partition', disk: 'sda' });
    expect(j.job).toContain('store=partition\nstorage_part=auto\n');
    expect((await commit(j.url, j.session, manifest('img_b', ''))).status).toBe(400);
    expect((await commit(j.url, j.session, manifest('img_b').replace('disk sda ', 'disk sdb '))).status).toBe(400);
    expect((await commit(j.url, j.session, manifest('img_b').replace('end 1', ''))).status).toBe(400);
    expect((await commit(j.url, j.session, manifest('img_b', 'store partition sda3;reboot'))).status).toBe(400);
    expect((await commit(j.url, 'A'.repeat(43), manifest('img_b'))).status).toBe(403);
    expect(rows()).toEqual([]);
  });

  it('retention keep-last-1 answers the older partition image to the agent; server images are not touched', async () => {
    host.settings.set('backup.retention', 'keep-last-1');
    const a = await runningJob('backup', { image: 'img_1', store: 'partition' });
    expect((await commit(a.url, a.session, manifest('img_1'))).status).toBe(200);
    agents.result(a.jobId, a.session, { status: 'succeeded', exit_code: '0' });
    host.clock.set('2025-03-11T08:00:00Z');
    const b = await runningJob('backup', { image: 'img_2', store: 'partition' });
    const res = await commit(b.url, b.session, manifest('img_2'));
    expect(await res.text()).toBe('image=img_2\nbytes=5120\ndeleted=img_1\n');
    expect(rows()).toEqual([
      { image: 'img_1', status: 'deleted', location: 'partition', why: 'retention keep-last-1' },
      { image: 'img_2', status: 'succeeded', location: 'partition', why: null },
    ]);
  });

  const creds = (url: string, token?: string) => fetch(`${url}/smb-credentials`, { headers: token === undefined ? {} : { 'x-clonage-session': token } });
  const configureSmb = () => {
    for (const [k, v] of Object.entries({ 'smb.server': '10.77.0.1', 'smb.share': 'images', 'smb.subdir': 'clonage', 'smb.user': 'svc', 'smb.domain': 'LYCEE', 'smb.password': 'pw-1 x' })) {
      host.settings.set(k, v);
    }
  };

  it('smb-credentials: only to a running smb job with its token, never cached; the job text holds no secret', async () => {
    configureSmb();
    const j = await runningJob('backup', { image: 'img_s', store: 'smb' });
    expect(j.job).toContain('store=smb\nchunk_mb=64\n');
    expect(j.job).not.toMatch(/pw-1|svc|10\.77\.0\.1/);
    expect((await creds(j.url)).status).toBe(401);
    expect((await creds(j.url, 'A'.repeat(43))).status).toBe(403);
    const ok = await creds(j.url, j.session);
    expect([ok.status, ok.headers.get('cache-control'), await ok.text()]).toEqual([200, 'no-store',
      'server=10.77.0.1\nshare=images\nsubdir=clonage\ndir=02-00-00-00-00-01\nusername=svc\ndomain=LYCEE\npassword=pw-1 x\n']);
    agents.result(j.jobId, j.session, { status: 'succeeded', exit_code: '0' });
    expect((await creds(j.url, j.session)).status).toBeGreaterThanOrEqual(400); // the job is over
  });

  it('smb-credentials: 409 for a job that does not use the share, 404 when no share is configured', async () => {
    const p = await runningJob('backup', { image: 'img_p', store: 'partition' });
    expect((await creds(p.url, p.session)).status).toBe(409);
    agents.result(p.jobId, p.session, { status: 'succeeded', exit_code: '0' });
    // store=smb is refused by the wizard while no share is configured; configured, then removed:
    configureSmb();
    const s = await runningJob('restore', { store: 'smb' });
    host.settings.set('smb.server', '');
    const r = await creds(s.url, s.session);
    expect([r.status, r.headers.get('cache-control')]).toEqual([404, 'no-store']);
  });

  it('store=smb is refused while no share is configured', async () => {
    await expect(m.actions.create(USERS.admin.user, { type: 'backup', parcs: ['salle1'], machines: ['pc01'], params: { store: 'smb' } }))
      .rejects.toThrow(/no SMB share is configured/);
  });

  it('a restore from the partition reads nothing from the server (409)', async () => {
    const r = await runningJob('restore', { store: 'partition' });
    expect(r.job).toContain('image=\nstore=partition\nstorage_part=auto\n');
    const res = await fetch(`${r.url}/manifest`, { headers: { 'x-clonage-session': r.session } });
    expect([res.status, await res.text()]).toEqual([409, expect.stringMatching(/reads its image from the storage partition/)]);
  });
});
