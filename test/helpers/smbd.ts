/**
 * A real, throw-away Samba server for integration tests: smbd in the foreground as our child,
 * listening on 127.0.0.1 only, at a free high port, with every directory it writes (private,
 * lock, state, cache, pid, ncalrpc, logs) and its passdb inside one temp dir. One share,
 * `netlogon`, points at a temp folder. One SMB account: the unix user `nobody` (it exists on every
 * Debian system, so no system account is created), password set with `smbpasswd -c <conf>` in the
 * temp passdb, and granted SeRemoteShutdownPrivilege so `net rpc shutdown` can be tested: the
 * server's `shutdown script` only appends its arguments to a log file.
 * smbd runs in a session of its own (`detached`): when it exits it signals its whole process group,
 * which would otherwise be the test runner's (--no-process-group does not prevent that).
 * Stopping kills smbd by PID, then the RPC helpers it started on demand (samba-dcerpcd and its
 * rpcd_* workers, which live in their own session and outlive smbd): those are found in /proc by
 * our unique temp config path on their command line and killed one by one, by PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export const SMB_USER = 'nobody';
export const SMB_PASSWORD = 'Cl0nage-t3st!pw';
export const SMB_WORKGROUP = 'CLONAGE';
const NETBIOS_NAME = 'CLNTEST';

export interface RunningSmbd {
  readonly port: number;
  readonly dir: string;
  /** The `netlogon` share's directory on disk. */
  readonly shareDir: string;
  /** smb.conf of the server; clients can use it too (`-s`) so they ignore /etc/samba/smb.conf. */
  readonly configFile: string;
  /**
   * Lines appended by the shutdown script: "-r -f <message>" (Samba turns the message's spaces into
   * '_'). The delay is not visible: smb.conf's own %t (current time) is substituted first.
   */
  shutdownRequests(): string[];
  stop(): Promise<void>;
}

function program(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin']) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  return name;
}

export function smbdInstalled(): boolean {
  return ['smbd', 'smbclient', 'smbpasswd', 'net'].every((p) => program(p).startsWith('/'));
}

function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 20000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args[0]} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function config(dir: string, port: number): string {
  return [
    '[global]',
    `  netbios name = ${NETBIOS_NAME}`,
    `  workgroup = ${SMB_WORKGROUP}`,
    '  server role = standalone server',
    '  security = user',
    '  map to guest = never',
    `  smb ports = ${port}`,
    '  interfaces = 127.0.0.1',
    '  bind interfaces only = yes',
    `  private dir = ${dir}/private`,
    `  lock directory = ${dir}/lock`,
    `  state directory = ${dir}/state`,
    `  cache directory = ${dir}/cache`,
    `  pid directory = ${dir}/pid`,
    `  ncalrpc dir = ${dir}/ncalrpc`,
    `  binddns dir = ${dir}/private`,
    `  passdb backend = tdbsam:${dir}/private/passdb.tdb`,
    `  log file = ${dir}/log/log.%m`,
    '  log level = 1',
    '  load printers = no',
    '  printcap name = /dev/null',
    '  disable spoolss = yes',
    '  disable netbios = yes',
    `  shutdown script = /bin/sh ${dir}/shutdown.sh %r %f %z`,
    '',
    '[netlogon]',
    `  path = ${dir}/share`,
    '  read only = no',
    `  valid users = ${SMB_USER}`,
    '',
  ].join('\n');
}


function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** The RPC helpers started for our smbd: their command line names our (unique) config file. */
function killHelpers(configFile: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const ours = cmdline.includes(`--configfile=${configFile}`) || cmdline.includes(configFile);
    if (ours && /(samba-dcerpcd|rpcd_|smbd)/.test(cmdline[0] ?? '') && alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  }
}

export async function startSmbd(): Promise<RunningSmbd> {
  const dir = await mkdtemp(join(tmpdir(), 'clonage-smbd-'));
  // nobody must traverse to the share; the passdb stays in the 0700 private dir.
  await chmod(dir, 0o755);
  for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'log', 'share']) await mkdir(join(dir, d));
  await chmod(join(dir, 'private'), 0o700);
  await chmod(join(dir, 'share'), 0o777);
  const shutdownLog = join(dir, 'shutdown.log');
  await writeFile(join(dir, 'shutdown.sh'), `echo "$@" >> ${shutdownLog}\n`);
  const configFile = join(dir, 'smb.conf');
  let child: ChildProcess | null = null;
  const onExit = () => {
    if (child && !exited(child)) child.kill('SIGKILL');
    killHelpers(configFile);
  };
  try {
    let lastError = '';
    for (let attempt = 0; attempt < 3 && !child; attempt++) {
      const port = await freePort();
      await writeFile(configFile, config(dir, port));
      if (attempt === 0) {
        await run(program('smbpasswd'), ['-c', configFile, '-a', '-s', SMB_USER], `${SMB_PASSWORD}\n${SMB_PASSWORD}\n`);
        await run(program('net'), ['sam', 'rights', 'grant', `${NETBIOS_NAME}\\${SMB_USER}`, 'SeRemoteShutdownPrivilege', '-s', configFile]);
      }
      const c = spawn(program('smbd'), ['--foreground', '--no-process-group', '--debug-stdout', '-s', configFile],
        { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      const keep = (d: Buffer) => {
        if (out.length < 20000) out += d.toString();
      };
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      const deadline = Date.now() + 15000;
      while (Date.now() < deadline && !exited(c) && !(await accepts(port))) await new Promise((r) => setTimeout(r, 100));
      if (!exited(c) && (await accepts(port))) {
        child = c;
        process.once('exit', onExit);
        const running: RunningSmbd = {
          port, dir, configFile, shareDir: join(dir, 'share'),
          shutdownRequests: () => (existsSync(shutdownLog) ? readFileSync(shutdownLog, 'utf8').split('\n').filter(Boolean) : []),
          stop: async () => {
            process.off('exit', onExit);
            if (!exited(c)) {
              const gone = new Promise((r) => c.once('exit', r));
              c.kill('SIGTERM');
              const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
              await gone;
              clearTimeout(timer);
            }
            killHelpers(configFile);
            rmSync(dir, { recursive: true, force: true });
          },
        };
        return running;
      }
      if (!exited(c)) c.kill('SIGKILL');
      killHelpers(configFile);
      lastError = out.slice(-2000);
    }
    throw new Error(`smbd did not start: ${lastError}`);
  } catch (e) {
    onExit();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
