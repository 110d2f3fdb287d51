/**
 * Runs the service that scripts/install-service.sh installed under a temporary root the way its
 * systemd unit says, on a machine where systemd is not running: a private mount + network
 * namespace puts the installed /usr/lib/clonage, /etc/clonage and /var/lib/clonage at their real
 * paths (read-only overlays over the host's folders), makes everything else read-only but the
 * data dir (ProtectSystem=strict, ReadWritePaths=), gives a fresh /tmp (PrivateTmp=), then
 * `setpriv` drops to the unit's User= with only the unit's AmbientCapabilities= and
 * NoNewPrivileges=, and execs the unit's ExecStart= with its Environment=.
 * The namespace has only `lo`: every packet stays inside it.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import fs from 'fs';

export interface UnitFacts {
  readonly user: string;
  readonly execStart: string[];
  readonly environment: Record<string, string>;
  /** Lower-case names for setpriv, e.g. net_bind_service. */
  readonly ambientCaps: string[];
  readonly noNewPrivileges: boolean;
}

export function readUnit(file: string): UnitFacts {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
  const values = (key: string) => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).trim());
  const one = (key: string) => {
    const v = values(key);
    if (v.length !== 1) throw new Error(`${file}: expected one ${key}=, found ${v.length}`);
    return v[0];
  };
  const environment: Record<string, string> = {};
  for (const e of values('Environment')) {
    const eq = e.indexOf('=');
    environment[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return {
    user: one('User'),
    execStart: one('ExecStart').split(/\s+/),
    environment,
    ambientCaps: one('AmbientCapabilities').split(/\s+/).map((c) => c.replace(/^CAP_/, '').toLowerCase()),
    noNewPrivileges: one('NoNewPrivileges') === 'yes',
  };
}

/** uid:gid of `user` in ROOT/etc/passwd. */
export function idsIn(root: string, user: string): { uid: number; gid: number } {
  const line = fs.readFileSync(`${root}/etc/passwd`, 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no ${user} in ${root}/etc/passwd`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface RunningService {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly stderrLines: string[];
  /** Resolves with the first stderr JSON line (or `{ stdout: line }`) for which `match` holds (bounded by `timeoutMs`). */
  waitForLog(match: (entry: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Runs a command inside the service's network namespace. */
  inNetns(cmd: string, args: string[]): { status: number | null; stdout: Buffer; stderr: string };
  stop(): Promise<number | null>;
}

export function startInstalled(root: string, unitFile: string): RunningService {
  const unit = readUnit(unitFile);
  const { uid, gid } = idsIn(root, unit.user);
  const caps = unit.ambientCaps.map((c) => `+${c}`).join(',');
  const env = Object.entries({ PATH: '/usr/bin:/bin', HOME: '/var/lib/clonage', ...unit.environment }).map(([k, v]) => `${k}=${v}`);
  const script = [
    'set -e',
    'ip link set lo up',
    'mount -t overlay clonage-usr -o "lowerdir=$1/usr/lib:/usr/lib" /usr/lib',
    'mount -t overlay clonage-etc -o "lowerdir=$1/etc:/etc" /etc',
    'mount -t overlay clonage-var -o "lowerdir=$1/var/lib:/var/lib" /var/lib',
    // the bind first: a bind mount taken from a read-only mount is read-only too
    'mount --bind "$1/var/lib/clonage" /var/lib/clonage',
    'mount -o remount,bind,ro /',
    'mount -t tmpfs -o mode=1777 clonage-tmp /tmp',
    'shift',
    'exec "$@"',
  ].join('\n');
  const setpriv = [
    'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups',
    `--inh-caps=-all,${caps}`, `--ambient-caps=-all,${caps}`, `--bounding-set=-all,${caps}`,
    ...(unit.noNewPrivileges ? ['--no-new-privs'] : []), '--',
  ];
  // unshare without --fork execs bash, which execs setpriv, which execs node: one PID throughout
  const child = spawn('unshare', ['--mount', '--net', '--propagation', 'private', 'bash', '-c', script, 'ns', root,
    ...setpriv, 'env', '-i', ...env, ...unit.execStart], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderrLines: string[] = [];
  const waiters: { match: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = [];
  let buf = '';
  // stdout lines (the plain "Admin shell ready" banner) reach the waiters as { stdout: line }
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString('utf8').split('\n')) for (const w of [...waiters]) if (w.match({ stdout: line })) w.resolve({ stdout: line });
  });
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      stderrLines.push(line);
      let entry: Record<string, unknown> | null = null;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const w of [...waiters]) if (w.match(entry)) w.resolve(entry);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    pid: child.pid!,
    stderrLines,
    waitForLog(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line in ${timeoutMs} ms:\n${stderrLines.join('\n')}`)), timeoutMs);
        const done = (e: Record<string, unknown>) => {
          clearTimeout(timer);
          resolve(e);
        };
        waiters.push({ match, resolve: done });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`service exited (${code}) before the log line:\n${stderrLines.join('\n')}`));
        });
      });
    },
    inNetns(cmd, args) {
      const r = spawnSync('nsenter', [`--net=/proc/${child.pid}/ns/net`, '--', cmd, ...args], { timeout: 30000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
