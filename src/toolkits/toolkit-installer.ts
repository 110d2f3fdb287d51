import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Clock, Logger } from '../host/contract';
import { ConflictError, InputError, NotFoundError } from '../common/domain/errors';
import { msg } from '../i18n/module-messages';
import { checkToolkitName } from '../boot/boot-plan';
import { MAINTENANCE_ENTRIES, type MaintenanceEntry } from '../boot/menu-settings';

export type InstallState = 'running' | 'succeeded' | 'failed';

/** One install or build, followed from the configuration page (polled as JSON). */
export interface InstallJob {
  readonly id: string;
  readonly toolkit: string;
  readonly kind: 'build' | 'download';
  state: InstallState;
  /** 0..100, or null while unknown. */
  percent: number | null;
  readonly lines: string[];
  readonly startedAt: string;
  finishedAt: string | null;
}

export interface DownloadRequest {
  readonly name: string;
  readonly kernelUrl: string;
  readonly kernelSha256: string;
  readonly initrdUrl: string | null;
  readonly initrdSha256: string | null;
  readonly entries: readonly MaintenanceEntry[];
  readonly version: string;
}

export interface ToolkitInstallerDeps {
  readonly toolkitsDir: string;
  readonly moduleRoot: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called after a toolkit appeared or vanished: the boot root is re-assembled. */
  readonly onChange: () => Promise<unknown>;
  /** The build script; injectable so a test can stand in for the 2-minute Debian build. */
  readonly buildScript?: string;
  /** Bytes accepted for one downloaded file (default 2 GiB: SystemRescue's initrd is ~1 GiB). */
  readonly maxDownloadBytes?: number;
  readonly fetch?: typeof fetch;
}

/** Steps the build script announces on stderr ("build-bootenv: …"), mapped to a rough progress. */
const BUILD_STEPS: [RegExp, number][] = [[/downloading/, 10], [/module .* built into|modules/, 50], [/built /, 100], [/up to date/, 100]];

/**
 * Installs boot environments into <toolkits>/<name>: our own, built from Debian packages by
 * pxe/build-bootenv.sh, or a downloaded kernel + initrd (SystemRescue, UdpCast's own) accepted only
 * when its SHA-256 matches what the admin typed. Work happens in a temporary folder renamed into
 * place at the end, so a failed install leaves the installed toolkit as it was.
 */
export class ToolkitInstaller {
  private readonly jobs = new Map<string, InstallJob>();

  constructor(private readonly deps: ToolkitInstallerDeps) {}

  job(id: string): InstallJob {
    const j = this.jobs.get(id);
    if (!j) throw new NotFoundError(`no install job ${id}`);
    return j;
  }

  list(): InstallJob[] {
    return [...this.jobs.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, 20);
  }

  /** Builds our boot environment as the `clonage` toolkit. Returns at once; follow the job. */
  build(): InstallJob {
    const job = this.start('clonage', 'build');
    const tmp = this.tempDir('clonage');
    const script = this.deps.buildScript ?? path.join(this.deps.moduleRoot, 'pxe', 'build-bootenv.sh');
    const child = spawn('bash', [script, tmp], { cwd: this.deps.moduleRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const onLine = (line: string) => {
      this.note(job, line);
      for (const [re, pct] of BUILD_STEPS) if (re.test(line)) job.percent = Math.max(job.percent ?? 0, pct === 100 ? 95 : pct);
    };
    lines(child.stdout, onLine);
    lines(child.stderr, onLine);
    child.once('error', (e) => this.finish(job, tmp, e));
    child.once('exit', (code) => {
      if (code !== 0) return this.finish(job, tmp, new Error(`build script exited with ${code}`));
      this.finish(job, tmp, null).catch(() => undefined);
    });
    return job;
  }

  /** Downloads a kernel (+ initrd) and installs it if every SHA-256 matches. */
  download(req: DownloadRequest): InstallJob {
    const r = checkDownload(req);
    const job = this.start(r.name, 'download');
    const tmp = this.tempDir(r.name);
    (async () => {
      const files: [string, string, string][] = [['vmlinuz', r.kernelUrl, r.kernelSha256]];
      if (r.initrdUrl && r.initrdSha256) files.push(['initrd.img', r.initrdUrl, r.initrdSha256]);
      for (const [i, [file, url, sha]] of files.entries()) {
        await this.fetchVerified(job, url, sha, path.join(tmp, file), (p) => (job.percent = Math.round(((i + p) / files.length) * 95)));
      }
      fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({
        name: r.name, version: r.version, entries: r.entries, kernel: 'vmlinuz', initrd: r.initrdUrl ? 'initrd.img' : null,
        sha256: Object.fromEntries(files.map(([f, , s]) => [f, s])), source: files.map(([, u]) => u),
      }, null, 2));
    })().then(() => this.finish(job, tmp, null), (e) => this.finish(job, tmp, e as Error));
    return job;
  }

  async remove(name: string): Promise<void> {
    checkToolkitName(name);
    if ([...this.jobs.values()].some((j) => j.toolkit === name && j.state === 'running')) throw new ConflictError(`${name} is being installed`, msg('conflict.installing', { name }));
    const dir = path.join(this.deps.toolkitsDir, name);
    if (!fs.existsSync(dir)) throw new NotFoundError(`toolkit ${name} is not installed`, msg('missing.toolkit', { name }));
    fs.rmSync(dir, { recursive: true, force: true });
    this.deps.logger.info('toolkit removed', { name });
    await this.deps.onChange();
  }

  private start(toolkit: string, kind: InstallJob['kind']): InstallJob {
    if ([...this.jobs.values()].some((j) => j.toolkit === toolkit && j.state === 'running')) {
      throw new ConflictError(`an installation of ${toolkit} is already running`, msg('conflict.installing', { name: toolkit }));
    }
    const job: InstallJob = {
      id: `i_${crypto.randomBytes(8).toString('base64url')}`, toolkit, kind, state: 'running', percent: 0, lines: [],
      startedAt: this.deps.clock.now().toISOString(), finishedAt: null,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  private tempDir(name: string): string {
    fs.mkdirSync(this.deps.toolkitsDir, { recursive: true });
    // a dot-folder: the registry never lists it as an installed toolkit
    return fs.mkdtempSync(path.join(this.deps.toolkitsDir, `.install-${name}-`));
  }

  private note(job: InstallJob, line: string): void {
    job.lines.push(line.slice(0, 500));
    if (job.lines.length > 200) job.lines.splice(0, job.lines.length - 200);
  }

  private async finish(job: InstallJob, tmp: string, err: Error | null): Promise<void> {
    if (job.state !== 'running') return;
    try {
      if (err) throw err;
      const target = path.join(this.deps.toolkitsDir, job.toolkit);
      const old = `${target}.old-${process.pid}`;
      if (fs.existsSync(target)) fs.renameSync(target, old);
      fs.renameSync(tmp, target);
      fs.rmSync(old, { recursive: true, force: true });
      await this.deps.onChange();
      job.state = 'succeeded';
      job.percent = 100;
      this.note(job, `installé : ${job.toolkit}`);
      this.deps.logger.info('toolkit installed', { name: job.toolkit, kind: job.kind });
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      job.state = 'failed';
      this.note(job, `échec : ${(e as Error).message}`);
      this.deps.logger.warn('toolkit install failed', { name: job.toolkit, error: (e as Error).message });
    } finally {
      job.finishedAt = this.deps.clock.now().toISOString();
    }
  }

  private async fetchVerified(job: InstallJob, url: string, sha256: string, dest: string, progress: (fraction: number) => void): Promise<void> {
    const max = this.deps.maxDownloadBytes ?? 2 ** 31;
    this.note(job, `téléchargement de ${url}`);
    const res = await (this.deps.fetch ?? fetch)(url, { redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
    const total = Number(res.headers.get('content-length')) || 0;
    if (total > max) throw new Error(`${url}: ${total} bytes is more than the ${max} accepted`);
    const hash = crypto.createHash('sha256');
    const out = fs.createWriteStream(dest, { mode: 0o644 });
    let got = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        got += chunk.length;
        if (got > max) throw new Error(`${url}: more than ${max} bytes`);
        hash.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        if (total) progress(got / total);
      }
    } finally {
      await new Promise<void>((r) => out.end(() => r()));
    }
    const actual = hash.digest('hex');
    if (actual !== sha256) throw new Error(`${url}: SHA-256 ${actual} does not match the expected ${sha256}`);
    this.note(job, `vérifié (SHA-256) : ${path.basename(dest)}, ${got} octets`);
  }
}

/** Validates a download request from the configuration form; errors name the field. */
export function checkDownload(req: DownloadRequest): DownloadRequest {
  const name = req.name;
  try {
    checkToolkitName(name);
  } catch {
    throw new InputError('nom : lettres minuscules, chiffres, - et _', 'name');
  }
  if (name === 'clonage') throw new InputError('nom : « clonage » est réservé à l’environnement construit ici', 'name');
  const url = (v: unknown, field: string) => {
    if (typeof v !== 'string' || v.length > 500 || !/^https?:\/\/[A-Za-z0-9._~:/?&=%+@-]+$/.test(v)) throw new InputError(`${field} : une URL http(s)`, field);
    return v;
  };
  const sha = (v: unknown, field: string) => {
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v.trim().toLowerCase())) throw new InputError(`${field} : une empreinte SHA-256 (64 caractères hexadécimaux)`, field);
    return v.trim().toLowerCase();
  };
  const initrdUrl = req.initrdUrl ? url(req.initrdUrl, 'initrdUrl') : null;
  if (!req.entries.length || !req.entries.every((e) => MAINTENANCE_ENTRIES.includes(e))) throw new InputError('entrées du menu : au moins une', 'entries');
  if (!/^[A-Za-z0-9._+-]{1,40}$/.test(req.version)) throw new InputError('version : lettres, chiffres, . _ + -', 'version');
  return {
    name, version: req.version, entries: [...req.entries],
    kernelUrl: url(req.kernelUrl, 'kernelUrl'), kernelSha256: sha(req.kernelSha256, 'kernelSha256'),
    initrdUrl, initrdSha256: initrdUrl ? sha(req.initrdSha256, 'initrdSha256') : null,
  };
}

function lines(stream: NodeJS.ReadableStream | null, onLine: (l: string) => void): void {
  let buf = '';
  stream?.on('data', (d) => {
    buf += String(d);
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}
