/**
 * A real, throw-away OpenLDAP server for integration tests: mdb database in a temp dir, the
 * schemas SE3 needs (core, cosine, nis, inetorgperson), loaded with slapadd from an LDIF, listening
 * on 127.0.0.1 at a free port. slapd runs in the foreground (`-d 0`) as our child, so stopping it
 * is a kill of that one PID; an exit hook kills it too if a test run dies before afterAll.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { freePort } from './free-port';

const run = promisify(execFile);

export interface SlapdOptions {
  /** Path of the LDIF to load; its entries must sit under `baseDn`. */
  readonly ldifPath: string;
  readonly baseDn: string;
  /** Milliseconds to wait for the server to answer; default 15000. */
  readonly startTimeoutMs?: number;
}

export interface RunningSlapd {
  readonly url: string;
  readonly port: number;
  readonly baseDn: string;
  /** The database's root DN and password: can read everything, userPassword included. */
  readonly rootDn: string;
  readonly rootPassword: string;
  readonly dir: string;
  stop(): Promise<void>;
}

const SCHEMAS = ['core', 'cosine', 'nis', 'inetorgperson'];
const ROOT_PASSWORD = 'slapd-test-root-pw';

/** /usr/sbin is not on every PATH (non-root shells); the absolute path wins when it exists. */
function program(name: string): string {
  const abs = `/usr/sbin/${name}`;
  return existsSync(abs) ? abs : name;
}

export function slapdInstalled(): boolean {
  return existsSync(program('slapd')) || existsSync('/usr/local/libexec/slapd');
}

function config(dir: string, baseDn: string, rootDn: string): string {
  // Debian builds back_mdb as a module; other builds have it compiled in, where moduleload fails.
  const modules = existsSync('/usr/lib/ldap/back_mdb.so') ? 'modulepath /usr/lib/ldap\nmoduleload back_mdb\n' : '';
  return [
    ...SCHEMAS.map((s) => `include /etc/ldap/schema/${s}.schema`),
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    modules,
    'database mdb',
    'maxsize 33554432',
    `suffix "${baseDn}"`,
    `rootdn "${rootDn}"`,
    `rootpw ${ROOT_PASSWORD}`,
    `directory ${join(dir, 'db')}`,
    'index objectClass eq',
    'index cn,uid,memberUid eq',
    // As on an SE3 server: anonymous may read the tree and bind, nobody may read password hashes.
    'access to attrs=userPassword by anonymous auth by self read by * none',
    'access to * by * read',
    '',
  ].join('\n');
}


async function answers(url: string, rootDn: string): Promise<boolean> {
  const client = new Client({ url, timeout: 1000, connectTimeout: 1000 });
  try {
    await client.bind(rootDn, ROOT_PASSWORD);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export async function startSlapd(opts: SlapdOptions): Promise<RunningSlapd> {
  const dir = await mkdtemp(join(tmpdir(), 'clonage-slapd-'));
  const rootDn = `cn=root,${opts.baseDn}`;
  try {
    await mkdir(join(dir, 'db'));
    const conf = join(dir, 'slapd.conf');
    await writeFile(conf, config(dir, opts.baseDn, rootDn));
    await run(program('slapadd'), ['-f', conf, '-l', opts.ldifPath]).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`slapadd failed: ${err.stderr || err.message}`);
    });
    // The port is free when we look and could be taken before slapd binds it: retry a few times.
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const url = `ldap://127.0.0.1:${port}`;
      const child = spawn(program('slapd'), ['-f', conf, '-h', `${url}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 20000) stderr += d.toString();
      });
      const killOnExit = (): void => {
        if (!exited(child)) child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      };
      process.once('exit', killOnExit);
      const deadline = Date.now() + (opts.startTimeoutMs ?? 15000);
      while (!exited(child) && Date.now() < deadline && !(await answers(url, rootDn))) {
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!exited(child) && (await answers(url, rootDn))) {
        return {
          url,
          port,
          baseDn: opts.baseDn,
          rootDn,
          rootPassword: ROOT_PASSWORD,
          dir,
          stop: () => stopChild(child, dir, killOnExit),
        };
      }
      await stopChild(child, null, killOnExit);
      lastError = `slapd on port ${port} did not answer: ${stderr.trim() || 'no output'}`;
    }
    throw new Error(lastError);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function stopChild(child: ChildProcess, dir: string | null, hook: () => void): Promise<void> {
  process.removeListener('exit', hook);
  if (!exited(child)) {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
}
