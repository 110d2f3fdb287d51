/**
 * The server side of the agent calls (docs/agent-protocol.md). The job fetch is authenticated by
 * the target's one-time boot token and answers a fresh session secret; every later call needs
 * that secret, from the address that fetched the job (src/agent/agent-auth.ts). Refusals are
 * typed errors the agent routes map to 401/403/404/409/410 (a refused agent touches no disk),
 * 413 for a job over its volume caps (reports, events, log bytes: what was accepted stays).
 */
import { ConflictError, InputError, type MessageRef } from '../common/domain/errors';
import { Ipv4 } from '../common/domain/ipv4';
import { Mac } from '../common/domain/mac';
import { type ActionCore, reason } from '../actions/engine/action-core';
import { msg } from '../i18n/module-messages';
import type { ActionRow, Firmware, SecureBootState, TargetRow } from '../actions/model/action-types';
import { jobDescription, rebootAfter } from './job-description';
import { DEFAULT_UDPCAST_TUNING, type UdpcastTuning } from '../actions/params/udpcast-tuning';
import { hashToken, newToken } from './job-identity';
import { type AddressCheck, type AgentCaller, noticeOf, withNotice } from './agent-caller';
import { JobAuth } from './agent-auth';
import type { AuthorizedJob, EventLevel, JobAuthority } from '../actions/engine/ports';

export { GoneError } from './agent-auth';

/** 413: the job sent more than its caps allow (JOB_CAPS); what was accepted before stays. */
export class JobVolumeError extends ConflictError {}

/** Per-job volume caps: a legitimate agent stays far below (one report, a few stages, one log). */
export const JOB_CAPS = { reports: 8, reportBytes: 512 * 1024, events: 200, logBytes: 4 * 1024 * 1024 } as const;

export const MAX_AGENT_TEXT_BYTES = 64 * 1024;

type Fields = Readonly<Record<string, unknown>>;

function field(fields: Fields, name: string): string | undefined {
  const v = fields[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw new InputError(`${name}: a single value is expected`, name);
  return String(v).trim();
}

function number(fields: Fields, name: string, min: number, max: number, integer: boolean): number | undefined {
  const s = field(fields, name);
  if (s === undefined) return undefined;
  const ok = integer ? /^-?\d{1,16}$/.test(s) : /^-?\d{1,16}(\.\d{1,6})?$/.test(s);
  const n = Number(s);
  if (!ok || n < min || n > max) throw new InputError(`${name}: expected a number between ${min} and ${max}`, name);
  return n;
}

/** Agent text (log, report, message): bounded, no NULs or other control characters but tab and newline. */
export function cleanAgentText(text: unknown, maxBytes = MAX_AGENT_TEXT_BYTES): string {
  if (typeof text !== 'string') throw new InputError('body: text/plain expected', 'body');
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new InputError(`body: at most ${maxBytes} bytes`, 'body');
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
}

/** The last `maxBytes` bytes of a text, cut at a character boundary. */
export function lastBytes(text: string, maxBytes = MAX_AGENT_TEXT_BYTES): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let start = buf.length - maxBytes;
  while (start < buf.length && (buf[start] & 0xc0) === 0x80) start++; // skip UTF-8 continuation bytes
  return buf.subarray(start).toString('utf8');
}

/** `dropped=10.0.0.3,10.0.0.4` of a sender's result: the receivers udp-sender gave up on. */
function addressList(value: string | undefined, name: string): string[] {
  if (value === undefined) return [];
  const ips = value.split(',');
  if (ips.length > 1000) throw new InputError(`${name}: at most 1000 addresses`, name);
  return ips.map((ip) => {
    try {
      return Ipv4.parse(ip).toString();
    } catch {
      throw new InputError(`${name}: ${ip.slice(0, 40)} is not an IPv4 address`, name);
    }
  });
}

/**
 * The firmware facts an agent adds to its result: `firmware` uefi|bios (/sys/firmware/efi) and
 * `secure_boot` on|off|unknown (the SecureBoot EFI variable). Absent: an older agent, nothing shown.
 */
function bootFacts(fields: Fields): { firmware: Firmware; secureBoot: SecureBootState } | null {
  const firmware = field(fields, 'firmware');
  if (firmware === undefined) return null;
  if (firmware !== 'uefi' && firmware !== 'bios') throw new InputError('firmware: uefi or bios', 'firmware');
  const sb = field(fields, 'secure_boot') ?? 'unknown';
  if (sb !== 'on' && sb !== 'off' && sb !== 'unknown') throw new InputError('secure_boot: on, off or unknown', 'secure_boot');
  return { firmware, secureBoot: firmware === 'bios' ? 'off' : sb };
}

export interface FetchedJob {
  /** The job description (text/plain lines). */
  readonly description: string;
  /** The session secret every later call presents (`X-Clonage-Session`); only its hash is stored. */
  readonly session: string;
}

export class AgentJobs implements JobAuthority {
  private readonly auth: JobAuth;

  constructor(
    private readonly core: ActionCore,
    /** Read at each job fetch: a settings change applies to the next sender. */
    private readonly tuning: () => UdpcastTuning = () => DEFAULT_UDPCAST_TUNING,
    addressCheck: () => AddressCheck = () => 'reserved',
  ) {
    this.auth = new JobAuth(core, addressCheck);
  }

  /** GET job: consumes the boot plan, moves the target to running and opens its session, in one transaction. */
  fetchJob(jobId: string, caller: AgentCaller): FetchedJob {
    return this.guarded(() => this.core.change(() => {
      const { target } = this.auth.forFetch(jobId, caller);
      if (!this.core.bootPlans.consume(Mac.parse(target.mac), target.id)) {
        throw new ConflictError('no armed boot plan for this job (consumed, replaced or disarmed)');
      }
      const session = newToken();
      const address = caller.address ?? 'unknown address';
      this.core.moveTarget(target, 'running', reason(`job fetched by the agent from ${address}`, 'event.target.fetched', { address }), {
        startedAt: this.core.nowIso(), sessionHash: hashToken(session), fetchedFrom: caller.address,
      });
      this.core.settle(target.actionId);
      // Read again: start-now may have changed min_receivers since the action was armed.
      const action = this.core.store.action(target.actionId)!;
      return { description: jobDescription(action, this.core.store.target(target.id)!, this.tuning()), session };
    }));
  }

  progress(jobId: string, caller: AgentCaller, fields: Fields): void {
    const stage = field(fields, 'stage');
    if (stage !== undefined && !/^[a-z0-9_-]{1,32}$/.test(stage)) throw new InputError('stage: [a-z0-9_-], at most 32', 'stage');
    const percent = number(fields, 'percent', 0, 100, false);
    const bytes = number(fields, 'bytes', 0, Number.MAX_SAFE_INTEGER, true);
    const rateKbps = number(fields, 'rate_kbps', 0, 1e9, true);
    this.guarded(() => this.core.change(() => {
      const { target } = this.auth.forSession(jobId, caller, 'progress');
      if (stage !== undefined && stage !== target.stage) {
        if (this.core.store.jobVolume(target.id).events >= JOB_CAPS.events) this.overCap(target, 'event.agent.capEvents', JOB_CAPS.events, 'events');
        this.core.event(target.actionId, target.id, 'info', `${target.name}: ${stage}`, msg('event.stage', { name: target.name, stage }));
      }
      // News resets the silence clock: a new stage or new figures, or a heartbeat while the agent
      // waits for others. The same figures again are not news: an agent stuck in a transfer
      // (its sender gone) keeps posting them, and must still fall to the silence limit.
      const news = (stage !== undefined && stage !== target.stage) || stage === 'waiting' ||
        (bytes !== undefined && bytes !== target.bytes) || (percent !== undefined && percent !== target.percent);
      this.core.store.updateTarget(target.id, { stage, percent, bytes, rateKbps, ...(news ? { updatedAt: this.core.nowIso() } : {}) });
      this.core.touch(target.actionId);
    }));
  }

  log(jobId: string, caller: AgentCaller, text: unknown): void {
    const clean = cleanAgentText(text);
    this.guarded(() => this.core.change(() => {
      const { target } = this.auth.forSession(jobId, caller, 'log');
      const received = target.logBytes + Buffer.byteLength(clean, 'utf8');
      if (received > JOB_CAPS.logBytes) this.overCap(target, 'event.agent.capLog', JOB_CAPS.logBytes, 'log bytes');
      this.core.store.updateTarget(target.id, { log: lastBytes(target.log + clean), logBytes: received, updatedAt: this.core.nowIso() });
      this.core.touch(target.actionId);
    }));
  }

  /** Final result: target succeeded/failed, the action's state follows; returns the reboot line. */
  result(jobId: string, caller: AgentCaller, fields: Fields): string {
    const status = field(fields, 'status');
    if (status !== 'succeeded' && status !== 'failed') throw new InputError('status: succeeded or failed', 'status');
    const exitCode = number(fields, 'exit_code', -2147483648, 2147483647, true) ?? null;
    const rawMessage = field(fields, 'message');
    const message = rawMessage === undefined ? null : cleanAgentText(rawMessage, 4096).replace(/\s+/g, ' ').slice(0, 500);
    const dropped = addressList(field(fields, 'dropped'), 'dropped');
    // The agent knows whether it started writing its disk (DISK_TOUCHED): `disk=incomplete`.
    const disk = field(fields, 'disk');
    if (disk !== undefined && disk !== 'incomplete') throw new InputError('disk: incomplete or absent', 'disk');
    const boot = bootFacts(fields);
    return this.guarded(() => this.core.change(() => {
      const { target, action } = this.auth.forSession(jobId, caller, 'result');
      if (boot) {
        // How the PC booted: kept on the target (its row on the action page) and as an event
        // (docs/boot.md: Secure Boot really on).
        const sb = boot.secureBoot === 'unknown' ? '?' : boot.secureBoot;
        this.core.event(target.actionId, target.id, 'info', `${target.name}: firmware ${boot.firmware.toUpperCase()}, Secure Boot: ${sb}`,
          msg('event.agent.firmware', { name: target.name, firmware: boot.firmware.toUpperCase(), secureBoot: sb }));
      }
      const code = exitCode ?? '?';
      const why = message
        ? reason(`exit code ${code}: ${message}`, 'event.target.resultMessage', { code, message })
        : reason(`exit code ${code}`, 'event.target.result', { code });
      this.core.moveTarget(target, status, why, { exitCode, message, ...(boot ?? {}) }, status === 'failed' ? 'error' : 'info', disk === 'incomplete' ? 'incomplete' : 'untouched');
      if (target.role === 'sender' && dropped.length) this.core.failDroppedReceivers(action.id, dropped);
      if (status === 'failed' && target.role === 'sender') this.core.failReceiversWithoutSender(action.id);
      this.core.settle(action.id);
      return `reboot=${rebootAfter(action.params, status)}\n`;
    }));
  }

  report(jobId: string, caller: AgentCaller, text: unknown): void {
    const content = cleanAgentText(text);
    this.guarded(() => this.core.change(() => {
      const { target } = this.auth.forSession(jobId, caller, 'report');
      const volume = this.core.store.jobVolume(target.id);
      if (volume.reports >= JOB_CAPS.reports || volume.reportBytes + Buffer.byteLength(content) > JOB_CAPS.reportBytes) {
        this.overCap(target, 'event.agent.capReports', JOB_CAPS.reports, 'reports');
      }
      this.core.store.insertReport({ mac: target.mac, name: target.name, targetId: target.id, createdAt: this.core.nowIso(), content });
      this.core.store.updateTarget(target.id, { updatedAt: this.core.nowIso() });
      if (volume.events < JOB_CAPS.events) this.core.event(target.actionId, target.id, 'info', `${target.name}: report received (${Buffer.byteLength(content)} bytes)`,
        msg('event.agent.report', { name: target.name, sizeBytes: Buffer.byteLength(content) }));
    }));
  }

  /**
   * Other agent endpoints (the server image store, src/images/): the running target and its
   * action, with the same checks as every agent call; the call counts as news from the agent.
   */
  authorize(jobId: string, caller: AgentCaller, call = 'image'): AuthorizedJob {
    return this.guarded(() => this.core.change(() => {
      const found = this.auth.forSession(jobId, caller, call);
      this.core.store.updateTarget(found.target.id, { updatedAt: this.core.nowIso() });
      return found;
    }));
  }

  /**
   * The SMB share's account, for a running job: once. A second ask is refused and shown on the
   * action's page (someone else may hold the session); `give` builds the answer.
   */
  once<T>(jobId: string, caller: AgentCaller, give: (job: AuthorizedJob) => T): T {
    return this.guarded(() => this.core.change(() => {
      const job = this.auth.forSession(jobId, caller, 'smb-credentials');
      if (job.target.smbCredentialsAt !== null) {
        const address = caller.address ?? 'unknown address';
        throw withNotice(new ConflictError('the SMB account is given once per job'),
          this.auth.notice(job.target, 'event.agent.smbAgain', `the SMB share account was asked again from ${address}: refused`, { address }));
      }
      const answer = give(job);
      this.core.store.updateTarget(job.target.id, { smbCredentialsAt: this.core.nowIso(), updatedAt: this.core.nowIso() });
      return answer;
    }));
  }

  /** An event about a job, on its action's page. */
  note(jobId: string, level: EventLevel, message: string, ref?: MessageRef): void {
    this.core.change(() => {
      const target = this.core.store.target(jobId);
      if (target) this.core.event(target.actionId, target.id, level, message, ref);
    });
  }

  isRunning(jobId: string): boolean {
    return this.core.store.target(jobId)?.state === 'running';
  }

  /** Whether a boot file carrying this job's token may be served to `address` (null: unknown). */
  bootFileAllowed(jobId: string, address: string | null, via: string): boolean {
    const target = this.core.store.target(jobId);
    const expected = target ? this.auth.bootAddress(target) : null;
    if (!target || expected === null || address === expected) return true;
    const from = address ?? 'unknown address';
    this.auth.recordNotice(this.auth.notice(target, 'event.agent.bootFile', `the job's boot file was asked by ${from} instead of ${expected} (${via}): a local boot was served`, { address: from, expected, via }));
    return false;
  }

  /** Runs an agent call; a refusal that carries a notice leaves its event once the call rolled back. */
  private guarded<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const notice = noticeOf(err);
      if (notice) this.auth.recordNotice(notice);
      throw err;
    }
  }

  /** Throws the 413 of a cap, with its event (once per job and cap: recordNotice deduplicates). */
  private overCap(target: TargetRow, key: 'event.agent.capReports' | 'event.agent.capEvents' | 'event.agent.capLog', limit: number, what: string): never {
    throw withNotice(new JobVolumeError(`per-job limit reached: at most ${limit} ${what}`),
      this.auth.notice(target, key, `limit of ${limit} ${what} per job reached, further ones are refused`, { limit }));
  }
}
