/**
 * Issue 17 item 4: the compiled `clonage` binary, run as a child process (argument arrays), against
 * the real shell's REST API with tokens made on the "Jetons d'API" page. A report action on the
 * demo parc is created, watched to its end while two PCs (the agent protocol played over HTTP,
 * recorded-agent.ts) run it, one failing: watch exits 7 (partial); its failed PC is retried and
 * cancelled (watch exits 8). Plus lists, images, schedules, --json, --lang, and the exit codes of a bad
 * flag (2), a bad or unreadable token (3), a foreign parc (3), an unknown id (4), a refused field (6).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API, tokenFor } from '../helpers/api-client';
import { addImage } from '../helpers/library-fixtures';
import { RecordedAgent, waitForArmedJobs } from '../helpers/recorded-agent';
import { APP_ROOT, startTestShell, type TestShell } from '../helpers/test-shell';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI compiled alone with the repository's compiler options: it imports nothing outside src/cli. */
async function compileCli(outDir: string): Promise<string> {
  const config = path.join(outDir, 'tsconfig.json');
  fs.writeFileSync(config, JSON.stringify({
    extends: path.join(APP_ROOT, 'tsconfig.json'),
    compilerOptions: { outDir: path.join(outDir, 'out'), rootDir: APP_ROOT, sourceMap: false, typeRoots: [path.join(APP_ROOT, 'node_modules/@types')], types: ['node'] },
    files: [path.join(APP_ROOT, 'src/cli/main.ts')],
    include: [],
  }));
  const tsc = require.resolve('typescript/bin/tsc');
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [tsc, '-p', config], { timeout: 120_000 }, (e, out) => (e ? reject(new Error(`${e.message}\n${out}`)) : resolve()));
  });
  return path.join(outDir, 'out/src/cli/main.js');
}

const MOD = '/modules/clonage';

describe('clonage CLI against the real shell', () => {
  let shell: TestShell;
  let work = '';
  let bin = '';
  let admin = '';
  let tech = '';

  /** One invocation: a fresh HOME (no token file unless the test writes one), the URL and token from the environment. */
  const cli = (args: string[], o: { token?: string | null; home?: string } = {}): Promise<Run> => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: o.home ?? path.join(work, 'home'), CLONAGE_URL: `${shell.url}${API}` };
    const token = o.token === undefined ? tech : o.token;
    if (token !== null) env.CLONAGE_TOKEN = token;
    return new Promise((resolve) => {
      execFile(process.execPath, [bin, ...args], { env, timeout: 60_000 }, (e, stdout, stderr) => {
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
      });
    });
  };

  /** A long-running invocation (watch): `started` resolves on its first output line, `done` at its exit. */
  const cliLive = (args: string[]): { started: Promise<void>; done: Promise<Run> } => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: path.join(work, 'home'), CLONAGE_URL: `${shell.url}${API}`, CLONAGE_TOKEN: tech };
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    let started: () => void = () => undefined;
    const first = new Promise<void>((r) => (started = r));
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) started();
    });
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<Run>((resolve) => child.on('close', (code) => {
      started();
      resolve({ code, stdout, stderr });
    }));
    return { started: first, done };
  };

  /**
   * An invocation on a terminal: script(1) gives it a pseudo-terminal and types `input`. The command
   * string is constant; the arguments come through the environment as plain words (checked).
   */
  const onTty = (args: string[], input: string): Promise<Run> => {
    if (!args.every((a) => /^[\w.,-]+$/.test(a))) throw new Error(`not a plain word in ${args.join(' ')}`);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: path.join(work, 'home'), CLONAGE_URL: `${shell.url}${API}`, CLONAGE_TOKEN: tech,
      COLUMNS: '80', CLI_NODE: process.execPath, CLI_BIN: bin, CLI_ARGS: args.join(' ') };
    return new Promise((resolve) => {
      const child = execFile('script', ['-qec', 'set -f; exec "$CLI_NODE" "$CLI_BIN" $CLI_ARGS', '/dev/null'], { env, timeout: 60_000 }, (e, stdout, stderr) => {
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
      });
      child.stdin!.end(input);
    });
  };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-cli-'));
    fs.mkdirSync(path.join(work, 'home'));
    bin = await compileCli(work);
    shell = await startTestShell({}, { autoEnable: ['clonage'] });
    admin = (await tokenFor(shell.url, 'admin')).token;
    tech = (await tokenFor(shell.url, 'tech1')).token;
  }, 180_000);

  afterAll(async () => {
    await shell?.stopAndClean();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('parcs, machines, readiness and images: tables, and --json that parses', async () => {
    expect(await cli(['parcs', 'ls'])).toEqual({ code: 0, stdout: 'PARC      PCS\nsalle101   12\n', stderr: '' });
    expect(JSON.parse((await cli(['parcs', 'ls', '--json'], { token: admin })).stdout).map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['salle101', 'cdi']));
    const machines = await cli(['machines', 'ls', 'salle101']);
    expect(machines.code).toBe(0);
    expect(machines.stdout).toMatch(/^PC\s+MAC\s+IP\s+RESERVED\s+BUSY\s+LAST REPORT\ns101-pc01\s+52:54:00:12:00:0b\s+10\.77\.0\.11\s+yes\s+-\s+-\n/);
    const readiness = await cli(['readiness', '--json', '--lang', 'en'], { token: admin });
    expect(readiness.code).toBe(0);
    expect(['ok', 'warn', 'bad']).toContain(JSON.parse(readiness.stdout).overall);
    expect(await cli(['images', 'ls'])).toEqual({ code: 0, stdout: '(no image)\n', stderr: '' });
    expect(JSON.parse((await cli(['images', 'ls', '--json'])).stdout)).toEqual([]);
  });

  test('images: ls, rename, protect, rm; the last good image needs --confirm-last (exit 6 with the server\'s reason)', async () => {
    const a = addImage(shell, '52:54:00:12:00:0b', 's101-pc01', 'img_a', '2026-11-01T18:30:00.000Z');
    const b = addImage(shell, '52:54:00:12:00:0b', 's101-pc01', 'img_b', '2026-11-08T18:30:00.000Z');
    const ls = await cli(['images', 'ls', '--machine', 's101-pc01']);
    expect(ls.stdout).toMatch(new RegExp(`^${a}\\s+s101-pc01\\s+img_a\\s+2026-11-01T18:30:00.000Z\\s+117.7 MiB\\s+server\\s+server\\s+no$`, 'm'));
    expect(await cli(['images', 'rename', String(a), 'img_renamed'])).toEqual({ code: 0, stdout: `image ${a} s101-pc01/img_renamed renamed\n`, stderr: '' });
    expect((await cli(['images', 'rename', String(a), '../x'])).code).toBe(6);
    expect((await cli(['images', 'protect', String(b)])).stdout).toBe(`image ${b} s101-pc01/img_b protected\n`);
    expect(JSON.parse((await cli(['images', 'ls', '--json'])).stdout).find((i: { id: number }) => i.id === b).protected).toBe(true);
    expect((await cli(['images', 'unprotect', String(b)])).code).toBe(0);
    expect((await cli(['images', 'rm', String(a)])).code).toBe(0);
    const last = await cli(['images', 'rm', String(b), '--lang', 'en']);
    expect(last).toMatchObject({ code: 6, stdout: '', stderr: expect.stringMatching(/last good image of s101-pc01/) });
    expect(await cli(['images', 'rm', String(b), '--confirm-last'])).toEqual({ code: 0, stdout: `image ${b} s101-pc01/img_b deleted\n`, stderr: '' });
    expect(await cli(['images', 'ls'])).toEqual({ code: 0, stdout: '(no image)\n', stderr: '' });
  });

  test('create a report action, watch it to its end while two PCs run it (one fails): exit 7; retry the failed PC, cancel, watch: exit 8', async () => {
    const created = await cli(['actions', 'create', '--type', 'report', '--parc', 'salle101', '--machines', 's101-pc01,s101-pc02', '--set', 'auto_reboot=never', '--json']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const id: string = JSON.parse(created.stdout).action.id;
    expect((await cli(['actions', 'ls'])).stdout).toMatch(new RegExp(`^${id}\\s+report\\s+(scheduled|preparing|armed|running)\\s+salle101\\s`, 'm'));

    // the PCs start once the watcher follows the live stream (its first line is the snapshot)
    const watching = cliLive(['actions', 'watch', id]);
    await watching.started;
    const jobs = await waitForArmedJobs(shell.db, 2);
    const agents = jobs.map((j) => RecordedAgent.forJob(`${shell.url}${MOD}`, j, j.mac === '52:54:00:12:00:0b' ? 's101-pc01' : 's101-pc02'));
    for (const a of agents) await a.fetchJob();
    for (const a of agents) await a.progress({ stage: 'report', percent: 50 });
    const [pc01, pc02] = [agents.find((a) => a.name === 's101-pc01')!, agents.find((a) => a.name === 's101-pc02')!];
    await pc01.finish('succeeded');
    await pc02.finish('failed', 3);
    const watched = await watching.done;
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(7);
    const lines = watched.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^action ${id}: (preparing|armed|running)$`));
    // updates are coalesced by the server (one message per 250 ms): the end states are always there
    expect(lines).toEqual(expect.arrayContaining([`action ${id}: failed`, expect.stringMatching(/^s101-pc01: succeeded \d+% report ok$/),
      expect.stringMatching(/^s101-pc02: failed \d+% report exit 3$/)]));
    expect(lines.at(-1)).toBe(`action ${id} ended with errors: 1/2 PCs succeeded, 1 failed`);
    const shown = await cli(['actions', 'show', id]);
    expect(shown.stdout).toMatch(/^state:\s+failed$/m);
    expect(shown.stdout).toMatch(/^s101-pc02\s+failed\s+/m);

    const retried = await cli(['actions', 'retry-failed', id, '--json']);
    expect(retried.code).toBe(0);
    const again = JSON.parse(retried.stdout).action;
    expect(again.targets.map((t: { name: string }) => t.name)).toEqual(['s101-pc02']);
    const cancelled = await cli(['actions', 'cancel', again.id]);
    expect(cancelled).toMatchObject({ code: 0, stderr: '' });
    expect(cancelled.stdout).toMatch(/^state:\s+cancelled$/m);
    const end = await cli(['actions', 'watch', again.id, '--json']);
    expect(end.code).toBe(8);
    expect(JSON.parse(end.stdout.trim().split('\n')[0]).state).toBe('cancelled');
    // cancelling twice is a conflict the server explains
    expect(await cli(['actions', 'cancel', again.id, '--lang', 'en'])).toMatchObject({ code: 6, stdout: '', stderr: expect.stringMatching(/^clonage: .+\n$/) });
  }, 120_000);

  test('on a terminal: a clone asks before overwriting disks (no → nothing sent, yes → created); watch draws bars in place', async () => {
    const clone = ['actions', 'create', '--type', 'clone', '--parc', 'salle101', '--emitter', 's101-pc05', '--machines', 's101-pc06', '--json'];
    const no = await onTty(clone, 'n\n');
    expect(no.stdout).toContain('clone overwrites the disks of PCs s101-pc06 of parc salle101 (except s101-pc05). Continue? [y/N]');
    expect(no.stdout).toContain('clonage: cancelled: nothing was sent');
    expect(no.code).toBe(2);
    expect(JSON.parse((await cli(['actions', 'ls', '--state', 'pending', '--json'])).stdout).filter((a: { type: string }) => a.type === 'clone')).toEqual([]);
    const yes = await onTty(clone, 'y\n');
    expect(yes.code).toBe(0);
    const id: string = JSON.parse(yes.stdout.slice(yes.stdout.indexOf('{'))).action.id;
    expect((await cli(['actions', 'cancel', id])).code).toBe(0);
    const watched = await onTty(['actions', 'watch', id], '');
    expect(watched.code).toBe(8);
    expect(watched.stdout).toMatch(new RegExp(`\x1b\\[2Kaction ${id}: cancelled\r?\n\x1b\\[2Ks101-pc05 +\\[-+\\] +(-|\\d+%) cancelled`));
    expect(watched.stdout).toContain(`action ${id} cancelled: 0/2 PCs succeeded`);
  }, 120_000);

  test('schedules: create, list, pause, resume, delete', async () => {
    const made = await cli(['schedules', 'create', '--type', 'report', '--parc', 'salle101', '--machines', 's101-pc03', '--cron', '30 18 * * 5', '--json']);
    expect(made).toMatchObject({ code: 0, stderr: '' });
    const id: string = JSON.parse(made.stdout).schedule.id;
    expect((await cli(['schedules', 'ls'])).stdout).toMatch(new RegExp(`^${id}\\s+report\\s+salle101\\s+30 18 \\* \\* 5\\s+no\\s`, 'm'));
    expect(await cli(['schedules', 'pause', id])).toEqual({ code: 0, stdout: `schedule paused ${id}\n`, stderr: '' });
    expect((await cli(['schedules', 'ls'])).stdout).toMatch(new RegExp(`^${id}\\s+report\\s+salle101\\s+30 18 \\* \\* 5\\s+yes\\s`, 'm'));
    expect((await cli(['schedules', 'resume', id])).code).toBe(0);
    expect(await cli(['schedules', 'rm', id])).toEqual({ code: 0, stdout: 'schedule deleted\n', stderr: '' });
    expect(JSON.parse((await cli(['schedules', 'ls', '--json'])).stdout).map((s: { id: string }) => s.id)).not.toContain(id);
  });

  test('exit codes: bad flag 2, no/bad token 3, foreign parc 3, unknown action 4, refused field 6 (French, or English with --lang en)', async () => {
    expect(await cli(['actions', 'ls', '--bogus'])).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/Unknown option '--bogus'/) });
    expect(await cli(['parcs', 'ls'], { token: null })).toMatchObject({ code: 3, stderr: expect.stringMatching(/no API token/) });
    expect(await cli(['parcs', 'ls'], { token: `clo_${'0'.repeat(16)}_${'A'.repeat(43)}` })).toMatchObject({ code: 3, stdout: '' });
    expect(await cli(['machines', 'ls', 'cdi'])).toMatchObject({ code: 3, stderr: expect.stringMatching(/cdi/) });
    expect(await cli(['actions', 'show', 'a_nosuch'])).toMatchObject({ code: 4, stdout: '' });
    const fr = await cli(['actions', 'create', '--type', 'backup', '--parc', 'salle101', '--machines', 's101-pc04', '--disk', 'sda1']);
    expect(fr).toMatchObject({ code: 6, stdout: '' });
    expect(fr.stderr).toMatch(/^clonage: .*n’est pas un disque entier.* \(field: disk\)\n$/);
    const en = await cli(['actions', 'create', '--type', 'backup', '--parc', 'salle101', '--machines', 's101-pc04', '--disk', 'sda1', '--lang', 'en']);
    expect(en.stderr).toMatch(/^clonage: .*is not a whole disk.* \(field: disk\)\n$/);
    expect(await cli(['actions', 'create', '--type', 'clone', '--parc', 'salle101', '--emitter', 's101-pc01'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/pass --yes/) });
  });

  test('the token file: used when mode 0600, refused (exit 3) when others may read it', async () => {
    const home = path.join(work, 'home-file');
    const file = path.join(home, '.config/clonage/token');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${tech}\n`, { mode: 0o600 });
    expect((await cli(['parcs', 'ls'], { token: null, home })).code).toBe(0);
    fs.chmodSync(file, 0o644);
    expect(await cli(['parcs', 'ls'], { token: null, home })).toMatchObject({ code: 3, stderr: expect.stringMatching(/readable by other users \(mode 644\)/) });
  });
});
