/**
 * Shared tools of the hostile-input, secrets and fault tests against the REAL shell:
 * payload tables, a cookie/CSRF-aware raw HTTP client, database snapshots, boot-file fetchers
 * (TFTP on loopback and the iPXE route) and a shell that can be restarted on the same data dir.
 * Every wait is bounded; every socket is on 127.0.0.1.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { prepared } from '../../src/common/store/prepared';
import type { Shell } from '../../src/shell/shell';
import { SqliteSettingsStore } from '../../src/shell/settings-store';
import type { Clock, SettingsStore } from '../../src/host/contract';
import { APP_ROOT, startTestShell, USERS } from './test-shell';
import { readManifest } from '../../src/shell/manifest';
import { SecretBox } from '../../src/shell/secret-box';

// ------------------------------------------------------------------ payloads

/** Substrings no boot file, job description or generated config may ever contain. */
export const MARKERS = ['reboot', '$(', '`', '|id', 'init=', 'etc/passwd', '../', '..%2f', '%2e%2e', '<script', 'onerror', 'HOSTILE', '\r'];

export const SHELL_META = [';reboot', '$(id)', '`id`', 'x|id', 'a && reboot', 'sda\nreboot'];
export const TRAVERSAL = ['../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/etc/passwd', '....//....//etc/passwd'];
/** Kernel-argument injection: separators, quotes, newlines and a second token inside one value. */
export const KERNEL_ARG = ['sda HOSTILE=1', 'sda clonage.token=HOSTILEHOSTILEHOSTILEHOSTILEHOSTILEHOSTILE1', 'sda"HOSTILE', "sda'HOSTILE", 'sda\nAPPEND HOSTILE', 'sda\tinit=/bin/sh', 'sda%20init=/bin/sh'];
export const MARKUP = ['<script>HOSTILE()</script>', '"><img src=x onerror=HOSTILE()>'];
export const BIG = 'H'.repeat(100 * 1024);
export const ALL_STRINGS = [...SHELL_META, ...TRAVERSAL, ...KERNEL_ARG, ...MARKUP, BIG];
export const BAD_MACS = ['zz:zz:zz:zz:zz:zz', '52:54:00:12:00', '52:54:00:12:00:0b:0c', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '00:00:00:00:00:00', '52:54:00:12:00:0b;reboot', '52:54:00:12:00:0b\nx', '5254.0012.000b.00'];
export const BAD_IPS = ['10.77.0.300', '010.77.0.5', '10.77.0.5;reboot', '10.77.0', '::1', '10.77.0.5/24', '192.168.1.5'];
export const BAD_NAMES = ['bad name', 'a23456789012345x', '-pc', 'pc-', '1234', 'pc;reboot', 'pc$(id)', 'pc\nx', 's101-pc01'];
export const BAD_DISKS = ['sda1', 'sda; reboot', '../sda', '/dev/sda', 'sda$(id)', 'nvme0n1p1', 'sd', 'mmcblk0p1', 'sda`id`'];

/** Markers found in a text (an empty list is what every test wants). */
export function markersIn(text: string): string[] {
  return MARKERS.filter((m) => text.includes(m));
}

// ------------------------------------------------------------------ time and waiting

export class FakeClock implements Clock {
  constructor(private t = Date.parse('2026-03-02T08:00:00Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advanceMinutes(m: number): void {
    this.t += m * 60_000;
  }
}

/** The log lines at error level written since `from` (an index into logLines). */
export function errorLines(logLines: readonly string[], from = 0): string[] {
  return logLines.slice(from).filter((l) => l.includes('"level":"error"'));
}

/**
 * Polls `cond` every 20 ms for at most `ms`; throws with `what` (and what `seen()` tells of the
 * state at that moment) when it never holds. The bound is a hang guard, not a speed check.
 */
export async function until(cond: () => boolean, what: string, ms = 5000, seen?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${seen ? `\n${seen()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ------------------------------------------------------------------ shell

export { installFakeToolkit } from './test-shell';

export interface RestartableShell extends Shell {
  readonly dataDir: string;
  readonly logLines: string[];
}

/** The shell as test-shell.ts configures it, but on a data dir the caller owns (restart tests). */
/** The shell's periodic tick every second (default 15 s): tests that wait for it wait less. */
export const FAST_TICK = { 'action.checkIntervalSeconds': 1 } as const;

export async function startShellOn(dataDir: string, clock: Clock, settings: Record<string, unknown> = {}): Promise<RestartableShell> {
  // Agent calls from loopback: bound to the fetching address (see startTestShell).
  return startTestShell({ moduleSettings: { clonage: { 'tftp.port': 0, 'tftp.bindAddress': '127.0.0.1', 'agent.addressCheck': 'fetcher', ...settings } } }, { dataDir, clock, autoEnable: ['clonage'] });
}

/**
 * The module's settings, as its Configuration page and the module itself read them: secret ones
 * sealed with the key of the database's data dir, as the shell does.
 */
export function moduleSettings(db: Database): SettingsStore {
  const secretKeys = new Set(readManifest(APP_ROOT).secretSettings ?? []);
  return new SqliteSettingsStore(db, 'clonage', {}, { keys: secretKeys, box: SecretBox.open(path.dirname(db.name)) });
}

export const SNAPSHOT_TABLES = [
  'clonage_actions', 'clonage_targets', 'clonage_boot_plans', 'clonage_events', 'clonage_reports', 'clonage_schedules',
  'clonage_emitter_preparations', 'shell_settings', 'shell_modules', 'dhcp_reservations', 'dhcp_pxe_options',
];

/** Every row of the tables a request could change, plus the generated dnsmasq files. */
export function snapshot(shell: Shell & { dataDir: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const t of SNAPSHOT_TABLES) out[t] = prepared(shell.db, `SELECT * FROM ${t} ORDER BY rowid`).all();
  for (const f of ['dnsmasq.conf', 'dnsmasq.hosts']) out[f] = fs.readFileSync(path.join(shell.dataDir, f), 'utf8');
  for (const d of ['modules/clonage/toolkits', 'modules/clonage/netlogon', 'modules/clonage/images']) {
    const dir = path.join(shell.dataDir, d);
    out[d] = fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : null;
  }
  return out;
}

export function targetStates(db: Database, actionId: string): Record<string, string> {
  const rows = db.prepare('SELECT name, state FROM clonage_targets WHERE action_id = ? ORDER BY name').all(actionId) as { name: string; state: string }[];
  return Object.fromEntries(rows.map((r) => [r.name, r.state]));
}

export function actionState(db: Database, actionId: string): string {
  return (db.prepare('SELECT state FROM clonage_actions WHERE id = ?').get(actionId) as { state: string }).state;
}

// ------------------------------------------------------------------ HTTP

export interface Reply {
  readonly status: number;
  readonly text: string;
  readonly location: string | null;
  readonly type: string;
  /** The `X-Clonage-Session` a job fetch answered, if any. */
  readonly session?: string | null;
  /** The `X-Clonage-Machine-Token` a post-clone `name` answered, if any. */
  readonly machineToken?: string | null;
}

export interface SendOptions {
  readonly form?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  /** Adds the session's CSRF token to the form (default true when there is a form). */
  readonly csrf?: boolean;
}

/** A browser-like client: cookies kept, CSRF token read from a page, any body or header sent. */
export class Client {
  private cookies = new Map<string, string>();
  csrfToken = '';

  constructor(readonly baseUrl: string) {}

  static async as(baseUrl: string, who: keyof typeof USERS): Promise<Client> {
    const c = new Client(baseUrl);
    const r = await c.send('POST', '/login', { form: { ...USERS[who], next: '/', _csrf: await c.loginToken() }, csrf: false });
    if (r.status !== 303) throw new Error(`login ${who}: ${r.status}`);
    const page = await c.send('GET', '/');
    c.csrfToken = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    return c;
  }

  /** Opens the login form as a browser would: its token (cookie + hidden field), for POST /login. */
  async loginToken(): Promise<string> {
    const page = await this.send('GET', '/login');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
    if (!token) throw new Error(`no token on the login form (status ${page.status})`);
    return token;
  }

  async send(method: string, urlPath: string, o: SendOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { accept: 'text/html', ...o.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | Buffer | undefined = o.body;
    if (o.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(o.form)) for (const x of typeof v === 'string' ? [v] : v) p.append(k, x);
      if (o.csrf !== false && this.csrfToken) p.append('_csrf', this.csrfToken);
      body = p.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
    const res = await fetch(this.baseUrl + urlPath, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      if (pair.slice(i + 1) === '' || /Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(pair.slice(0, i));
      else this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return { status: res.status, text: await res.text(), location: res.headers.get('location'), type: res.headers.get('content-type') ?? '', session: res.headers.get('x-clonage-session'), machineToken: res.headers.get('x-clonage-machine-token') };
  }
}

/** An anonymous request with any headers (agents, emitters, PCs). */
export function raw(baseUrl: string, method: string, urlPath: string, o: SendOptions = {}): Promise<Reply> {
  return new Client(baseUrl).send(method, urlPath, o);
}

// ------------------------------------------------------------------ boot files

/** The embedded TFTP server's port, from the boot service's start log line. */
export function tftpPortOf(logLines: readonly string[]): number {
  for (const l of [...logLines].reverse()) {
    const e = JSON.parse(l) as { msg?: string; tftpPort?: number };
    if (e.msg === 'boot service started' && typeof e.tftpPort === 'number') return e.tftpPort;
  }
  throw new Error('no TFTP port in the log');
}

/**
 * A plain RFC 1350 read (512-byte blocks): the file's text, or `{ error }` with the TFTP error code.
 * `local`: the client's own address (another loopback address plays another PC).
 */
export async function tftpGet(port: number, file: string, local = '127.0.0.1'): Promise<string | { error: number }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, local, () => r()));
  const chunks: Buffer[] = [];
  try {
    return await new Promise<string | { error: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`TFTP ${file}: no answer`)), 5000);
      sock.on('message', (msg, rinfo) => {
        const op = msg.readUInt16BE(0);
        if (op === 5) return (clearTimeout(timer), resolve({ error: msg.readUInt16BE(2) }));
        if (op !== 3) return (clearTimeout(timer), reject(new Error(`TFTP ${file}: opcode ${op}`)));
        const block = msg.readUInt16BE(2);
        if (block === chunks.length + 1) chunks.push(msg.subarray(4));
        const ack = Buffer.alloc(4);
        ack.writeUInt16BE(4, 0);
        ack.writeUInt16BE(block, 2);
        sock.send(ack, rinfo.port, '127.0.0.1');
        if (msg.length - 4 < 512) (clearTimeout(timer), resolve(Buffer.concat(chunks).toString('latin1')));
        if (chunks.length > 2000) (clearTimeout(timer), reject(new Error('TFTP file too long')));
      });
      const rrq = Buffer.concat([Buffer.from([0, 1]), Buffer.from(file, 'latin1'), Buffer.from([0]), Buffer.from('octet\0', 'latin1')]);
      sock.send(rrq, port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

/** Every boot file a PC could be given now: pxelinux default and per-MAC configs, iPXE scripts. */
export async function allBootFiles(shell: RestartableShell | (Shell & { logLines: string[] }), extraMacs: readonly string[] = []): Promise<Record<string, string>> {
  const port = tftpPortOf(shell.logLines);
  const macs = [...shell.dhcp.api.listReservations().map((r) => r.mac.toString()), ...extraMacs];
  const out: Record<string, string> = {};
  const put = (k: string, v: string | { error: number }) => {
    out[k] = typeof v === 'string' ? v : `TFTP error ${v.error}`;
  };
  put('pxelinux.cfg/default', await tftpGet(port, 'pxelinux.cfg/default'));
  put('grub/grub.cfg', await tftpGet(port, 'grub/grub.cfg'));
  out['ipxe?'] = (await raw(shell.url, 'GET', '/modules/clonage/boot/ipxe')).text;
  for (const mac of macs) {
    put(`pxelinux.cfg/01-${mac.replace(/:/g, '-')}`, await tftpGet(port, `pxelinux.cfg/01-${mac.toLowerCase().replace(/:/g, '-')}`));
    put(`grub/mac/${mac}.cfg`, await tftpGet(port, `grub/mac/${mac.toLowerCase()}.cfg`));
    out[`ipxe?mac=${mac}`] = (await raw(shell.url, 'GET', `/modules/clonage/boot/ipxe?mac=${encodeURIComponent(mac)}`)).text;
  }
  return out;
}

/** What an agent finds on its kernel command line, read from the MAC's iPXE script. */
export async function jobOf(baseUrl: string, mac: string): Promise<{ jobId: string; token: string }> {
  const script = (await raw(baseUrl, 'GET', `/modules/clonage/boot/ipxe?mac=${mac}`)).text;
  const m = /clonage\.job=(\S+) clonage\.token=(\S+)/.exec(script);
  if (!m) throw new Error(`no job armed for ${mac}:\n${script}`);
  return { jobId: m[1], token: m[2] };
}

/** Boot token → the session secret its job fetch answered (agent() fills it in). */
const sessions = new Map<string, string>();

/**
 * An agent call as the real agent makes it: the job fetch (`jobPath` is a bare job id) with the
 * boot token as Bearer; every later call with `X-Clonage-Session`: the session that token's fetch
 * answered, or the value itself when there is none (so a wrong token stays a wrong secret).
 */
export async function agent(baseUrl: string, method: string, jobPath: string, token: string | null, o: SendOptions = {}): Promise<Reply> {
  const fetch = !jobPath.includes('/');
  const secret: Record<string, string> = token === null ? {} : fetch ? { authorization: `Bearer ${token}` } : { 'x-clonage-session': sessions.get(token) ?? token };
  const headers = { ...secret, ...o.headers };
  const r = await raw(baseUrl, method, `/modules/clonage/api/agent/jobs/${jobPath}`, { ...o, headers, csrf: false });
  if (fetch && token !== null && r.status === 200 && r.session) sessions.set(token, r.session);
  return r;
}

/** Creates an action through the wizard (confirm=1) and returns its id. */
export async function createAction(c: Client, form: Readonly<Record<string, string | readonly string[]>>): Promise<string> {
  const r = await c.send('POST', '/modules/clonage/actions', { form: { ...form, confirm: '1' } });
  if (r.status !== 303 || !r.location) throw new Error(`create: ${r.status} ${r.text.slice(0, 400)}`);
  return r.location.split('?')[0].split('/').pop()!;
}

/**
 * Waits until every target of the action is armed and every wake-up was tried (no late event, no
 * wake-up still sending when the shell stops). Bounded by 20 s: an action created while a tick
 * runs is armed by the next periodic tick (≤ 15 s).
 */
export async function untilArmed(shell: { db: Database; logLines: string[] }, actionId: string, wakes: number): Promise<void> {
  const seen = () => `${actionId}: action ${actionState(shell.db, actionId)}, targets ${JSON.stringify(targetStates(shell.db, actionId))}; last log lines:\n${shell.logLines.slice(-8).join('\n')}`;
  await until(() => Object.values(targetStates(shell.db, actionId)).every((s) => s === 'armed'), `${actionId} armed`, 20_000, seen);
  await until(() => shell.logLines.filter((l) => /"msg":"wake (sent|failed)"/.test(l)).length >= wakes, `${wakes} wake-ups`, 20_000, seen);
}

/** The emitter's scripts as the module wrote them (local netlogon destination), and the tokens in them. */
export function emitterScripts(dataDir: string, machine: string): { cmd: string; ps1: string; ackToken: string; postCloneToken: string } | null {
  const dir = path.join(dataDir, 'modules/clonage/netlogon/machine', machine);
  if (!fs.existsSync(path.join(dir, 'clonage-emitter.cmd'))) return null;
  const cmd = fs.readFileSync(path.join(dir, 'clonage-emitter.cmd'), 'latin1');
  const ps1 = fs.readFileSync(path.join(dir, 'clonage-postclone.ps1'), 'latin1');
  const ack = /set "CLONAGE_TOKEN=([A-Za-z0-9_-]{43})"/.exec(cmd)?.[1];
  const post = /\$Token = '([A-Za-z0-9_-]{43})'/.exec(ps1)?.[1];
  if (!ack || !post) throw new Error(`no tokens in the scripts of ${machine}`);
  return { cmd, ps1, ackToken: ack, postCloneToken: post };
}

/** True once both emitter scripts of an action are in place (recorded after the write). */
export function scriptsWritten(db: Database, actionId: string): boolean {
  return db.prepare('SELECT 1 FROM clonage_emitter_preparations WHERE action_id = ? AND scripts_written_at IS NOT NULL').get(actionId) !== undefined;
}

/** True once the emitter's scripts of an action were removed (the event follows the removal). */
export function removedEvent(db: Database, actionId: string): boolean {
  return db.prepare("SELECT 1 FROM clonage_events WHERE action_id = ? AND message LIKE 'emitter scripts removed%'").get(actionId) !== undefined;
}

/** Structural rules every boot file obeys whatever went in: no marker, kernel arguments from a closed set. */
export function checkBootFile(name: string, text: string): string[] {
  const problems = markersIn(text).map((m) => `${name}: contains ${JSON.stringify(m)}`);
  for (const line of text.split('\n')) {
    const args = /^\s*(?:APPEND|imgargs vmlinuz|linux \/toolkits\/[a-z0-9_-]+\/vmlinuz)\s+(.*)$/.exec(line)?.[1];
    if (args === undefined) continue;
    for (const a of args.split(' ')) {
      if (!/^[A-Za-z0-9._~:/,=+-]+$/.test(a) && a !== 'BOOTIF=01-${netX/mac:hexhyp}') problems.push(`${name}: kernel argument ${JSON.stringify(a)}`);
    }
    if ((args.match(/clonage\.token=/g) ?? []).length > 1) problems.push(`${name}: two tokens`);
  }
  return problems;
}
