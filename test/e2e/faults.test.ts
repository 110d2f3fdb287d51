/**
 * Faults with real parts (issue 18), in the QEMU lab of this run's network namespace: one BIOS PC
 * (TCG, 128 MiB virtio disk, ext4 with 48 MiB of random data), the real boot environment and
 * agent, the real shell and module, everything an admin does through the admin pages.
 *
 * Server stopped in the middle of a backup's upload and started again 8 s later on the same data
 * (its listening sockets and every connection closed, as a crash would; a new process state, the
 * same database and image store): the agent retries, resumes its upload, and the backup is
 * recorded once, whole; no staging folder is left. (The first upload under way is cut: on this
 * small disk it is often the boot area, head.bin, before the partition's piece.) The time from the restart to the final state is printed (the run's
 * artifacts hold it too): it is the agent's backoff plus the rest of the job.
 *
 * Run alone: `bash scripts/e2e.sh test/e2e/faults` (root). Artifacts: test-artifacts/e2e-faults/.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import type { ImageManifest } from '../../src/images/image-types';
import { LoopDisks, writeFiles } from '../helpers/backup-loop-disks';
import type { PageClient } from '../helpers/browserless-client';
import { loggedIn, type TestShell } from '../helpers/test-shell';
import { Lab, startLabShell, waitFor, type Vm, writeShellArtifacts } from './lib/lab';
import { scheduleThroughWizard } from './lib/wizard';

const WORK = path.resolve(__dirname, '..', '..', 'test-artifacts', 'e2e-faults');
const PC = { name: 's101-pc01', mac: '52:54:00:12:00:0b' };
const IMAGE = 'faults';

describe('faults with a QEMU PC: the server restarted during a backup', () => {
  let lab: Lab;
  let shell: TestShell;
  let admin: PageClient;
  let vm: Vm;
  const bootenv = process.env.CLONAGE_BOOTENV ?? '';
  const diskFile = path.join(WORK, `${PC.name}.img`);
  const disks = new LoopDisks(WORK);
  const timings: Record<string, number> = {};

  const db = () => shell.db;
  const actionState = (id: string) => (db().prepare('SELECT state FROM clonage_actions WHERE id = ?').get(id) as { state: string }).state;
  const target = (id: string) => db().prepare('SELECT state, stage, exit_code AS exitCode, message, log FROM clonage_targets WHERE action_id = ?').get(id) as
    { state: string; stage: string | null; exitCode: number | null; message: string | null; log: string };
  const machineDir = () => path.join(shell.dataDir, 'modules', 'clonage', 'images', PC.mac.replace(/:/g, '-'));
  const staging = () => (fs.existsSync(machineDir()) ? fs.readdirSync(machineDir()) : []).filter((f) => f.startsWith('.incoming-'));

  beforeAll(async () => {
    if (!bootenv) throw new Error('CLONAGE_BOOTENV: build it with pxe/build-bootenv.sh (scripts/e2e.sh does)');
    fs.rmSync(WORK, { recursive: true, force: true });
    lab = Lab.create(WORK);
    shell = await startLabShell(bootenv);
    await lab.startDnsmasq(shell.dhcp.api.configPath);
    admin = await loggedIn({ url: shell.url.replace('0.0.0.0', '127.0.0.1') }, 'admin');
    const d = disks.attach(PC.name, 128, 'label: dos\n,,83\n');
    execFileSync('mkfs.ext4', ['-q', '-F', d.part(1)], { stdio: 'pipe' });
    disks.withMount(d.part(1), 'ext4', false, (m) => writeFiles(m, { 'big.bin': 48 << 20, 'etc/hostname': `${PC.name}\n` }));
    disks.cleanup();
    vm = lab.addVm(PC.mac, diskFile, 512);
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    disks.cleanup();
    if (shell) {
      writeShellArtifacts(shell, WORK);
      fs.writeFileSync(path.join(WORK, 'timings.json'), JSON.stringify(timings, null, 2));
    }
    await shell?.stopAndClean();
  });

  test('stopped mid-upload, back 8 s later: the agent resumes, the image is recorded once, whole; nothing left in staging', async () => {
    const actionPath = await scheduleThroughWizard(admin, 'backup', 'salle101', PC.name, { disk: 'vda', compression: 'zstd', image: IMAGE, auto_reboot: 'always' });
    const id = actionPath.split('/').pop()!;
    const plans = new BootPlanStore(shell.db, { now: () => new Date() });
    await waitFor('the backup plan armed', () => plans.listArmed().some((p) => p.mac.toString() === PC.mac), 60_000);
    vm.start();
    // The piece being uploaded shows as a temporary file in the job's staging folder.
    const uploading = () => staging().some((s) => fs.readdirSync(path.join(machineDir(), s)).some((f) => f.endsWith('.tmp')));
    await waitFor('an upload under way', uploading, 600_000, 100);
    const dataDir = shell.dataDir;
    await shell.stop();
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 8000));
    shell = await startLabShell(bootenv, {}, dataDir);
    timings.restartedAfterMs = Date.now() - stoppedAt;
    const restartedAt = Date.now();
    await waitFor('the backup to finish', () => ['succeeded', 'failed', 'cancelled'].includes(actionState(id)), 900_000, 1000);
    timings.finalStateAfterRestartMs = Date.now() - restartedAt;
    console.log(`server restart during a backup: final state ${Math.round(timings.finalStateAfterRestartMs / 1000)} s after the restart`);
    const t = target(id);
    expect({ state: actionState(id), target: t.state, why: t.state === 'succeeded' ? '' : `${t.message}\n${t.log}\n${vm.serial().slice(-2000)}` })
      .toEqual({ state: 'succeeded', target: 'succeeded', why: '' });
    expect(t.log).toMatch(/: no answer from the server \(HTTP none\), trying again in 1 s/);
    const m = JSON.parse(fs.readFileSync(path.join(machineDir(), IMAGE, 'manifest.json'), 'utf8')) as ImageManifest;
    const pieces = m.partitions.flatMap((p) => p.chunks.map((c) => c.file));
    expect(new Set(pieces).size).toBe(pieces.length);
    expect(shell.db.prepare('SELECT image, status FROM clonage_backups').all()).toEqual([{ image: IMAGE, status: 'succeeded' }]);
    await waitFor('staging swept', () => staging().length === 0, 10_000);
    await vm.waitExit(180_000);
  }, 1_800_000);
});
