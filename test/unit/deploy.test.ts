/**
 * Multicast deploy, server side, behind the real action service and image store: parameters,
 * the image reads a deploy job is allowed (its action's source image only), the refusal of a
 * damaged image before anything is armed, and the sender service's udp-sender argument arrays
 * and lifecycle through a fake spawn port (sessions, receivers left out, cancel, failures).
 */
import { ModuleSettings } from '../../src/settings/module-settings';
import { configView } from '../../src/settings/config-form';
import { createHash, randomBytes } from 'crypto';
import ejs from 'ejs';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { DeploySender } from '../../src/deploy/deploy-sender';
import { type SenderProcess, senderSettingsFrom, udpSenderArgs } from '../../src/deploy/udp-sender-command';
import { Mac } from '../../src/common/domain/mac';
import { FieldErrors } from '../../src/actions/params/field-errors';
import { parseConfigForm } from '../../src/http/admin/config-routes';
import { moduleTranslator } from '../../src/i18n/module-messages';
import { pageI18n } from '../../src/i18n/page-i18n';
import { createFakeHost, type FakeHost, USERS } from '../helpers/fake-host';
import type { ModuleParts } from '../../src/index';
import { type ImageRig, startImageRig } from '../helpers/image-rig';
import type { InProcessAgents } from '../helpers/in-process-agents';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const TABLE = Buffer.from('label: dos\nlabel-id: 0x1234\ndevice: /dev/sda\nunit: sectors\nsector-size: 512\n\n/dev/sda1 : start=2048, size=163840, type=83\n');
const macOf = (name: string) => `02:00:00:00:00:0${name.slice(-1)}`;

interface FakeProc {
  args: readonly string[];
  input: Buffer[];
  signals: string[];
  exit(code: number | null): void;
}

describe('multicast deploy, server side', () => {
  let rig: ImageRig;
  let agents: InProcessAgents;
  let host: FakeHost;
  let m: ModuleParts;
  let bootPlans: BootPlanStore;
  let base: string;
  let procs: FakeProc[];
  let deployer: DeploySender;

  beforeEach(async () => {
    const fresh = createFakeHost();
    fresh.settings.set('deploy.interface', 'eth1');
    procs = [];
    // The spawn port: a fake udp-sender that records its arguments and stdin, exits when told.
    const spawn = (cmd: string, args: readonly string[]): SenderProcess => {
      expect(cmd).toBe('udp-sender');
      let exit!: (c: number | null) => void;
      const exited = new Promise<number | null>((r) => (exit = r));
      const stdin = new PassThrough();
      const p: FakeProc = { args, input: [], signals: [], exit };
      stdin.on('data', (d: Buffer) => p.input.push(d));
      procs.push(p);
      return { pid: 4242, stdin, stderr: new PassThrough(), exited, kill: (s) => { p.signals.push(s); exit(null); } };
    };
    rig = await startImageRig({
      deployer: (coordination, store) => (deployer = new DeploySender({ coordination, store, clock: fresh.clock, logger: fresh.logger, settings: new ModuleSettings(fresh.settings),
        spawn, pollMs: 5, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })),
    }, fresh);
    ({ host, parts: m, bootPlans, base, agents } = rig);
  });
  afterEach(() => rig.stop());

  async function until(what: string, ok: () => boolean): Promise<void> {
    for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
    if (!ok()) throw new Error(`timed out waiting for ${what}`);
  }
  const get = (url: string, token: string) => fetch(url, { headers: { 'x-clonage-session': token } });

  /** A committed server image of `machine` (table + one piece per partition given). */
  async function backup(machine: string, image: string, pieces: Buffer[]) {
    await m.actions.create(USERS.admin.user, { type: 'backup', parcs: ['salle1'], machines: [machine], params: { image } });
    await m.scheduler.tick(host.clock.now());
    const plan = bootPlans.get(Mac.parse(macOf(machine)));
    if (plan?.kind !== 'job') throw new Error('no job');
    agents.fetchJob(plan.jobId, plan.token);
    const url = `${base}/modules/clonage/api/agent/jobs/${plan.jobId}/image`;
    const files: [string, Buffer][] = [['table.sfdisk', TABLE], ...pieces.map((p, i): [string, Buffer] => [`sda${i + 1}.pc.zst.000`, p])];
    for (const [name, data] of files) {
      const res = await fetch(`${url}/${name}`, { method: 'PUT', body: data, headers: { 'x-clonage-session': agents.sessionOf(plan.jobId), 'content-type': 'application/octet-stream', 'x-sha256': sha(data) } });
      expect(res.status).toBe(201);
    }
    const text = ['clonage-image 1', 'disk sda 209715200 512', 'chunk_bytes 67108864', `table table.sfdisk ${TABLE.length} ${sha(TABLE)}`,
      ...pieces.flatMap((p, i) => [`part ${i + 1} sda${i + 1} ext4 partclone.extfs partclone zstd 83886080 1000`, `chunk ${i + 1} sda${i + 1}.pc.zst.000 ${p.length} ${sha(p)}`]),
      `end ${pieces.length}`, ''].join('\n');
    const res = await fetch(`${url}/commit`, { method: 'POST', body: text, headers: { 'x-clonage-session': agents.sessionOf(plan.jobId), 'content-type': 'text/plain' } });
    expect(res.status).toBe(200);
    agents.result(plan.jobId, plan.token, { status: 'succeeded', exit_code: '0' });
  }

  /** A deploy of pc01's image to `machines`, verified and armed; their plans. */
  async function deploy(machines: string[], params: Record<string, string> = {}) {
    const created = await m.actions.create(USERS.admin.user, {
      type: 'deploy', parcs: ['salle1'], machines, params: { source: `${macOf('pc01')}/img_a`, min_wait: '0', max_wait: '1', start_timeout: '2', ...params },
    });
    await m.scheduler.tick(host.clock.now());
    await m.scheduler.idle();
    const plans = machines.map((m) => bootPlans.get(Mac.parse(macOf(m))));
    return { id: created.id, plans: plans.map((p) => (p?.kind === 'job' ? p : null)) };
  }
  const action = (id: string) => host.db.prepare('SELECT state, error, port FROM clonage_actions WHERE id = ?').get(id) as { state: string; error: string | null; port: number };
  const eventsOf = (id: string) => (host.db.prepare('SELECT message FROM clonage_events WHERE action_id = ?').all(id) as { message: string }[]).map((e) => e.message);
  const targetOf = (jobId: string) => host.db.prepare('SELECT state, message FROM clonage_targets WHERE id = ?').get(jobId) as { state: string; message: string };

  it('validates the source, the clone wait rules and the delegated parcs', async () => {
    await backup('pc01', 'img_a', [randomBytes(1000)]);
    const v = (params: Record<string, string>, user = USERS.admin.user, parcs = ['salle1'], machines = ['pc02', 'pc03']) =>
      m.actions.validate(user, { type: 'deploy', parcs, machines, params });
    const errorsOf = async (p: Promise<unknown>) => ((await p.catch((e) => e)) as FieldErrors).errors;
    expect(await errorsOf(v({}))).toMatchObject({ source: 'source: choose the image to deploy' });
    expect(await errorsOf(v({ source: 'img_a' }))).toMatchObject({ source: 'source: expected <machine MAC>/<image>' });
    expect(await errorsOf(v({ source: `${macOf('pc01')}/nope` }))).toMatchObject({ source: 'source: no good image nope of 02:00:00:00:00:01 on the server' });
    expect(await errorsOf(v({ source: `${macOf('pc01')}/../x` }))).toMatchObject({ source: 'source: bad image name' });
    expect(await errorsOf(v({ source: `${macOf('pc01')}/img_a`, max_wait: '30', start_timeout: '20' }))).toMatchObject({ start_timeout: expect.stringMatching(/at least max_wait/) });
    expect(await errorsOf(v({ source: `${macOf('pc01')}/img_a`, min_receivers: '3' }))).toMatchObject({ min_receivers: expect.stringMatching(/between 1 and 2/) });
    const ok = await v({ source: `${macOf('pc01')}/img_a` });
    expect(ok.params).toMatchObject({ type: 'deploy', sourceMac: '02:00:00:00:00:01', image: 'img_a', disk: '', minReceivers: 2 });
    expect(ok.targets.map((t) => t.role)).toEqual(['deploy', 'deploy']);
    // prof's parc is salle2: pc01 (salle1) is not theirs, neither is its image.
    expect(await errorsOf(v({ source: `${macOf('pc01')}/img_a` }, USERS.prof.user, ['salle2'], ['pc05']))).toMatchObject({ source: 'source: this image is of a machine outside your parcs' });
  });

  it('a deploy job reads only its action source image; the manifest carries the stream digests', async () => {
    const piece = randomBytes(5000);
    await backup('pc01', 'img_a', [piece]);
    await backup('pc02', 'img_a', [randomBytes(3000)]); // same names, another machine: never readable
    const d = await deploy(['pc03']);
    const plan = d.plans[0]!;
    const job = agents.fetchJob(plan.jobId, plan.token);
    expect(job).toBe(`job=${plan.jobId}\nrole=deploy\nname=pc03\ndisk=\nport=${action(d.id).port}\nstart_timeout=120\nsource=02-00-00-00-00-01\nimage=img_a\nstore=server\nauto_reboot=always\n`);
    const url = `${base}/modules/clonage/api/agent/jobs/${plan.jobId}/image`;
    const manifest = await (await get(`${url}/manifest`, agents.sessionOf(plan.jobId))).text();
    expect(manifest).toMatch(/^clonage-image 1\nimage img_a\n[\s\S]*\nend 1\n/);
    expect(manifest.endsWith(`stream 1 5000 ${sha(piece)}\n`)).toBe(true);
    const c = await get(`${url}/sda1.pc.zst.000`, agents.sessionOf(plan.jobId));
    expect(sha(Buffer.from(await c.arrayBuffer()))).toBe(sha(piece)); // pc01's piece, not pc02's
    expect((await get(`${url}/sda2.pc.zst.000`, agents.sessionOf(plan.jobId))).status).toBe(404);
    expect((await get(`${url}/table.sfdisk`, 'A'.repeat(43))).status).toBe(403);
    const put = await fetch(`${url}/x.000`, { method: 'PUT', body: 'x', headers: { 'x-clonage-session': agents.sessionOf(plan.jobId), 'content-type': 'application/octet-stream', 'x-sha256': sha('x') } });
    expect(put.status).toBe(409);
    expect(action(d.id).state).toBe('running');
  });

  it('retention keeps an image an unfinished deploy sends', async () => {
    await backup('pc01', 'img_a', [randomBytes(100)]);
    const d = await deploy(['pc02']);
    host.settings.set('backup.retention', 'keep-last-1');
    await backup('pc01', 'img_b', [randomBytes(100)]);
    expect(host.db.prepare("SELECT image, status FROM clonage_backups WHERE mac = ? ORDER BY id").all(macOf('pc01'))).toEqual([
      { image: 'img_a', status: 'succeeded' }, { image: 'img_b', status: 'succeeded' }]);
    await m.actions.cancel(d.id, USERS.admin.user);
    await backup('pc01', 'img_c', [randomBytes(100)]);
    expect(host.db.prepare("SELECT image FROM clonage_backups WHERE mac = ? AND status = 'succeeded'").all(macOf('pc01'))).toEqual([{ image: 'img_c' }]);
  });

  it('a damaged piece refuses the deploy before any plan is armed; udp-sender never starts', async () => {
    await backup('pc01', 'img_a', [randomBytes(5000)]);
    fs.appendFileSync(path.join(host.dataDir, 'images', '02-00-00-00-00-01', 'img_a', 'sda1.pc.zst.000'), 'x');
    const d = await deploy(['pc02', 'pc03']);
    expect(d.plans).toEqual([null, null]);
    expect(action(d.id)).toMatchObject({ state: 'failed', error: 'source image refused: image img_a is damaged: sda1.pc.zst.000 has 5001 bytes, 5000 expected' });
    expect(procs).toEqual([]);
  });

  it('a bad deploy.interface setting refuses the deploy', async () => {
    await backup('pc01', 'img_a', [randomBytes(100)]);
    host.settings.set('deploy.interface', 'eth0; rm -rf /');
    const d = await deploy(['pc02']);
    expect(action(d.id)).toMatchObject({ state: 'failed', error: 'source image refused: setting deploy.interface: not a valid network interface name' });
  });

  it('wizard step 3 lists the good server images in the deploy partial', async () => {
    await backup('pc01', 'img_a', [randomBytes(100)]);
    const page = await (await fetch(`${base}/modules/clonage/actions/new/params?parc=salle1&type=deploy&machine=pc02`, { headers: { 'x-test-user': 'admin' } })).text();
    expect(page).toMatch(/<select name="source" required>[\s\S]*<option value="02:00:00:00:00:01\/img_a">pc01 — img_a \(/);
    expect(page).toMatch(/name="min_receivers"/);
    expect(page).not.toMatch(/name="compression"/);
  });

  it('module stop kills a running udp-sender; a restart fails the deploy it left', async () => {
    await backup('pc01', 'img_a', [randomBytes(100)]);
    const d = await deploy(['pc02']);
    const a = d.plans[0]!;
    agents.fetchJob(a.jobId, a.token);
    agents.progress(a.jobId, a.token, { stage: 'recv-1' });
    await until('session', () => procs.length === 1);
    await rig.module.stop();
    expect(procs[0].signals[0]).toBe('SIGKILL');
    expect(deployer.running(d.id)).toBe(false);
    await m.scheduler.recover(host.clock.now());
    expect(action(d.id)).toMatchObject({ state: 'failed', error: 'the server restarted during the multicast deploy: its sender is gone' });
  });

  it('configuration page: deploy.* fields checked by their declared rules (src/settings/deploy.ts), rendered in their group', async () => {
    const current = { getOr: <T>(_k: string, d: T) => d };
    const badForm = { 'deploy.interface': 'eth0; reboot', 'deploy.maxBitrate': 'fast', 'deploy.retriesUntilDrop': '0' };
    const bad = parseConfigForm(badForm, current, moduleTranslator('en'));
    expect(bad.errors).toEqual({ 'deploy.interface': 'not a valid network interface name', 'deploy.maxBitrate': 'expected e.g. 600m or empty',
      'deploy.retriesUntilDrop': 'a whole number between 1 and 1000' });
    expect(parseConfigForm(badForm, current, moduleTranslator('fr')).errors).toEqual({ 'deploy.interface': "pas un nom d'interface réseau valide",
      'deploy.maxBitrate': 'par exemple 600m, ou vide', 'deploy.retriesUntilDrop': 'un nombre entier entre 1 et 1000' });
    const good = parseConfigForm({ 'deploy.interface': 'enp3s0', 'deploy.maxBitrate': '600m', 'deploy.retriesUntilDrop': '50' }, current, moduleTranslator('fr'));
    expect(good).toEqual({ changes: { 'deploy.interface': 'enp3s0', 'deploy.maxBitrate': '600m', 'deploy.retriesUntilDrop': 50 }, errors: {} });
    const { t } = pageI18n('en');
    const html = await ejs.renderFile(path.join(__dirname, '../../pages/config.ejs'), {
      form: {}, errors: {}, csrfToken: 'x', toolkits: [], jobs: [], entries: [], tested: null, clearSuffix: ':clear', needsServer: () => false,
      groups: configView(current, t, {}, { 'deploy.interface': 'not a valid network interface name' }), ...pageI18n('en'),
      readiness: { overall: 'ok', items: [] }, base: '/modules/clonage', jobToolkit: 'clonage', bootModes: [],
    });
    expect(html).toMatch(/<fieldset id="settings-deploy">/);
    expect(html).toMatch(/name="deploy.interface" value="br0"[^>]*>[\s\S]{0,200}<span class="field-error" data-field="deploy.interface">not a valid/);
    expect(html).toMatch(/name="deploy.retriesUntilDrop" value="30" type="number" min="1" max="1000"/);
  });

  it('argument arrays: interface, port, exact receiver count, connect grace, retries, bitrate', () => {
    const s = senderSettingsFrom(new ModuleSettings({ getOr: <T>(k: string, d: T) => (({ 'deploy.interface': 'br0', 'deploy.maxBitrate': '600m' }) as Record<string, unknown>)[k] as T ?? d }));
    expect(udpSenderArgs(s, { port: 9004, receivers: 3, connectSeconds: 60 })).toEqual([
      '--interface', 'br0', '--portbase', '9004', '--nokbd', '--min-receivers', '3', '--max-wait', '60', '--retries-until-drop', '30', '--max-bitrate', '600m']);
    expect(() => senderSettingsFrom(new ModuleSettings({ getOr: <T>(k: string, d: T) => (k === 'deploy.maxBitrate' ? ('fast' as T) : d) }))).toThrow(/maxBitrate/);
  });

  it('sessions: one udp-sender per partition once every receiver is ready, pieces on stdin, in order', async () => {
    const p1 = randomBytes(7000);
    const p2 = randomBytes(3000);
    await backup('pc01', 'img_a', [p1, p2]);
    const d = await deploy(['pc02', 'pc03']);
    const [a, b] = d.plans.map((p) => p!);
    for (const p of [a, b]) agents.fetchJob(p.jobId, p.token);
    agents.progress(a.jobId, a.token, { stage: 'recv-1' });
    await new Promise((r) => setTimeout(r, 50));
    expect(procs).toEqual([]); // pc03 is not ready yet, and min_receivers is 2
    agents.progress(b.jobId, b.token, { stage: 'recv-1' });
    await until('session 1', () => procs.length === 1);
    expect(procs[0].args).toEqual(['--interface', 'eth1', '--portbase', String(action(d.id).port), '--nokbd', '--min-receivers', '2', '--max-wait', '60', '--retries-until-drop', '30']);
    await until('stdin', () => Buffer.concat(procs[0].input).length === p1.length);
    expect(Buffer.concat(procs[0].input).equals(p1)).toBe(true);
    host.clock.advanceMinutes(1); // a progress event every 30 s of the injected clock
    await until('progress event', () => eventsOf(d.id).some((e) => /^multicast partition 1: 100 % \(7000 bytes, \d+ kbit\/s\)$/.test(e)));
    procs[0].exit(0);
    // pc02 fails its stream check: session 2 goes to pc03 alone.
    agents.result(a.jobId, a.token, { status: 'failed', exit_code: '9', message: 'partition 1 written from a damaged stream' });
    agents.progress(b.jobId, b.token, { stage: 'recv-2' });
    await until('session 2', () => procs.length === 2);
    expect(procs[1].args[procs[1].args.indexOf('--min-receivers') + 1]).toBe('1');
    await until('stdin 2', () => Buffer.concat(procs[1].input).length === p2.length);
    procs[1].exit(0);
    await until('sender done', () => !deployer.running(d.id));
    agents.result(b.jobId, b.token, { status: 'succeeded', exit_code: '0' });
    expect(action(d.id).state).toBe('failed');
    expect(eventsOf(d.id)).toEqual(expect.arrayContaining([expect.stringMatching(/^multicast session 2\/2 done: 3000 bytes in/), 'multicast: every partition sent (2 sessions)']));
    // stored with their catalog message too, shown translated on the action page
    const keys = (host.db.prepare('SELECT message_key, message_vars FROM clonage_events WHERE action_id = ?').all(d.id) as { message_key: string | null; message_vars: string | null }[]);
    expect(keys).toEqual(expect.arrayContaining([
      { message_key: 'event.deploy.verified', message_vars: expect.any(String) },
      { message_key: 'event.deploy.session', message_vars: expect.any(String) },
      { message_key: 'event.deploy.sessionDone', message_vars: expect.any(String) },
      { message_key: 'event.deploy.allSent', message_vars: JSON.stringify({ sessions: 2 }) },
    ]));
  });

  it('at max_wait the session starts with the ready receivers; the others are left out, plans disarmed', async () => {
    await backup('pc01', 'img_a', [randomBytes(100)]);
    const d = await deploy(['pc02', 'pc03']);
    const [a, b] = d.plans.map((p) => p!);
    agents.fetchJob(a.jobId, a.token);
    agents.progress(a.jobId, a.token, { stage: 'recv-1' });
    await new Promise((r) => setTimeout(r, 50));
    expect(procs).toEqual([]);
    host.clock.advanceMinutes(1);
    await until('session 1', () => procs.length === 1);
    expect(targetOf(b.jobId).state).toBe('failed');
    expect(eventsOf(d.id)).toContainEqual(expect.stringMatching(/pc03 \(deploy\): armed → failed — not ready when the multicast of partition 1 started/));
    expect(bootPlans.get(Mac.parse(macOf('pc03')))).toBeNull();
    procs[0].exit(0);
    await until('sender done', () => !deployer.running(d.id));
  });

  it('udp-sender failing fails the running receivers; cancel kills udp-sender', async () => {
    await backup('pc01', 'img_a', [randomBytes(100)]);
    const d = await deploy(['pc02']);
    const a = d.plans[0]!;
    agents.fetchJob(a.jobId, a.token);
    agents.progress(a.jobId, a.token, { stage: 'recv-1' });
    await until('session', () => procs.length === 1);
    procs[0].exit(1);
    await until('failed', () => action(d.id).state === 'failed');
    expect(action(d.id).error).toMatch(/^udp-sender exited with 1 on partition 1/);
    expect(() => agents.progress(a.jobId, a.token, { stage: 'recv-1' })).toThrow(/failed/); // 410 for the agent

    const d2 = await deploy(['pc03']);
    const b = d2.plans[0]!;
    agents.fetchJob(b.jobId, b.token);
    agents.progress(b.jobId, b.token, { stage: 'recv-1' });
    await until('session', () => procs.length === 2);
    await m.actions.cancel(d2.id, USERS.admin.user);
    expect(procs[1].signals[0]).toBe('SIGKILL'); // by process group, in the real port
    expect(deployer.running(d2.id)).toBe(false);
    expect(targetOf(b.jobId).state).toBe('failed');
    expect(eventsOf(d2.id)).toContainEqual(expect.stringMatching(/cancelled by admin: the multicast sender is stopped/));
    expect(action(d2.id).state).toBe('failed');
  });
});
