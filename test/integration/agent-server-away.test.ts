/**
 * The server away while the REAL agent works (issue 18): the module's socket is closed in the
 * middle of an upload or of a restore's write phase (the request in flight is cut, new ones are
 * refused) and comes back 5 s later (after the agent's tries at 1 and 3 s, before the one at
 * 7 s), as after a restart on the same data. The agent (busybox sh,
 * partclone, nc, wget in a network namespace) retries with backoff, resumes at the piece that
 * failed, and delivers its log and result: the backup is recorded whole, the restore writes the
 * disk byte for byte. Server-side resumption after a real restart: faults-restart.test.ts.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { ImageManifest } from '../../src/images/image-types';
import { type AgentHarness, OK, okOf, startAgentHarness } from '../helpers/agent-harness';
import { type LoopDisk, LoopDisks, sumFiles, writeFiles } from '../helpers/backup-loop-disks';
import { netnsUnavailableReason } from '../helpers/netns';

const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`server-away tests SKIPPED: ${skipReason}`);

(skipReason ? describe.skip : describe)('the server away while the real agent backs up and restores', () => {
  let h: AgentHarness;
  let disks: LoopDisks;
  let disk: LoopDisk;
  let devDir: string;
  let sums: Record<string, string>;
  let trigger: ((req: { method?: string; url?: string }) => boolean) | null = null;
  let away: Promise<void> | null = null;
  let awayMs = 5000;
  const imageDir = (image: string) => path.join(h.host.dataDir, 'images', '02-00-00-00-00-01', image);

  beforeAll(async () => {
    h = await startAgentHarness('clonage-away-');
    // The first matching request is cut: the server goes away for awayMs from that moment.
    h.onAgentRequest((req) => {
      if (trigger && trigger(req)) {
        trigger = null;
        away = h.serverAway(awayMs);
      }
    });
    disks = new LoopDisks(h.tmp);
    disk = disks.attach('pc01', 64, 'label: dos\n,,83\n');
    execFileSync('mkfs.ext4', ['-q', '-L', 'linux', disk.part(1)]);
    sums = disks.withMount(disk.part(1), 'ext4', false, (d) => writeFiles(d, { 'big.bin': 6 << 20, 'etc/hostname': 'pc01\n' }));
    devDir = path.join(h.tmp, 'dev-pc01');
    fs.mkdirSync(devDir);
    fs.symlinkSync(disk.loop, path.join(devDir, 'sda'));
    fs.symlinkSync(disk.part(1), path.join(devDir, 'sda1'));
  }, 60000);

  afterAll(async () => {
    disks?.cleanup();
    await h?.stop();
  });

  test('backup: the upload of a piece is cut and the server stays away 5 s; the agent resumes at that piece, the image is recorded whole', async () => {
    trigger = (req) => req.method === 'PUT' && /\/image\/sda1\.pc\.003$/.test(req.url ?? '');
    const r = await h.runJob('backup', { disk: 'sda', compression: 'none', image: 'img_away' }, devDir);
    await away;
    expect(okOf(r)).toEqual(OK);
    const log = String(r.target.log);
    // The piece whose upload met the server away (the cut one, or the next) was sent again.
    const retried = /upload of (sda1\.pc\.\d{3}): no answer from the server \(HTTP none\), trying again in 1 s/.exec(log)?.[1];
    expect(retried).toMatch(/^sda1\.pc\.00[34]$/);
    const m = JSON.parse(fs.readFileSync(path.join(imageDir('img_away'), 'manifest.json'), 'utf8')) as ImageManifest;
    const files = m.partitions[0].chunks.map((c) => c.file);
    expect(files.filter((f) => f === retried)).toHaveLength(1);
    expect(files).toEqual([...files].sort()); // every piece once, in order: resumed, not restarted
    expect(h.host.db.prepare("SELECT image, status FROM clonage_backups WHERE image = 'img_away'").all()).toEqual([{ image: 'img_away', status: 'succeeded' }]);
    // Nothing left in staging once the job is over.
    expect(fs.readdirSync(path.dirname(imageDir('img_away'))).filter((f) => f.startsWith('.incoming-'))).toEqual([]);
  }, 300000);

  test('a backup whose job ended on the server half-way (silence limit): 410 to its next piece, staging folder removed at its result', async () => {
    let jobId = '';
    h.onAgentRequest((req) => {
      const m = /\/jobs\/([A-Za-z0-9_-]+)\/image\/sda1\.pc\.002$/.exec(req.url ?? '');
      if (req.method !== 'PUT' || !m || jobId) return;
      jobId = m[1];
      // As the silence rule would: the target is over for the server while its agent still uploads.
      h.host.db.prepare("UPDATE clonage_targets SET state = 'failed', finished_at = updated_at WHERE id = ?").run(jobId);
    });
    const r = await h.runJob('backup', { disk: 'sda', compression: 'none', image: 'img_gone' }, devDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/upload of sda1\.pc\.00[23] failed, HTTP 410/);
    const machineDir = path.dirname(imageDir('img_gone'));
    const left = () => fs.readdirSync(machineDir).filter((f) => f.startsWith('.incoming-') || f === 'img_gone');
    for (let i = 0; i < 50 && left().length; i++) await new Promise((res) => setTimeout(res, 100)); // the sweep runs once the result is answered
    expect(left()).toEqual([]);
    expect(h.host.db.prepare("SELECT COUNT(*) AS n FROM clonage_backups WHERE image = 'img_gone'").get()).toEqual({ n: 0 });
  }, 300000);

  test('restore: a piece download is cut in the write phase and the server stays away 5 s; the disk is restored whole', async () => {
    execFileSync('dd', ['if=/dev/zero', `of=${disk.loop}`, 'bs=1M', 'count=64', 'conv=fsync'], { stdio: 'ignore' });
    execFileSync('partx', ['-d', disk.loop]);
    let seen = 0; // each piece is read twice: verified first, then written
    trigger = (req) => req.method === 'GET' && /\/image\/sda1\.pc\.002$/.test(req.url ?? '') && ++seen === 2;
    const r = await h.runJob('restore', { disk: 'sda', image: 'img_away' }, devDir);
    await away;
    expect(okOf(r)).toEqual(OK);
    expect(String(r.target.log)).toMatch(/download of sda1\.pc\.00[23]: no answer from the server \(HTTP none\), trying again in 1 s/);
    disks.ensurePartitions(disk, 1);
    execFileSync('e2fsck', ['-fn', disk.part(1)], { stdio: 'pipe' });
    expect(disks.withMount(disk.part(1), 'ext4', true, (d) => sumFiles(d, Object.keys(sums)))).toEqual(sums);
  }, 300000);

  test('away longer than the retry time: the agent gives up with the reason and boots nothing it half wrote', async () => {
    awayMs = 12000; // longer than the agent's retries (3 s each) for the piece, its log and its result
    let seen = 0;
    trigger = (req) => req.method === 'GET' && /\/image\/sda1\.pc\.001$/.test(req.url ?? '') && ++seen === 2;
    const r = await h.runJob('restore', { disk: 'sda', image: 'img_away' }, devDir, { env: { CLONAGE_RETRY_SECONDS: '3' } });
    await away;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/download of sda1\.pc\.00[12]: the server did not answer for 3 s, giving up/);
    expect(r.stderr).toMatch(/DISQUE INCOMPLET : sda a ete ecrit en partie \(restore interrompu\)/);
    // The result could not be delivered while the server was away: the target is still running
    // for the server, whose silence rule ends it (actions-lifecycle.test.ts).
    expect(r.target.state).toBe('running');
  }, 300000);
});
