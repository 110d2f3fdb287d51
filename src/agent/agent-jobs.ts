/**
 * The server side of the agent calls (docs/agent-protocol.md). Every call is authenticated by the
 * target's one-time token (compared in constant time with its stored SHA-256), and refused with a
 * typed error the agent routes map to 401/403/404/409/410 — a refused agent touches no disk.
 *
 * Order of checks: job id (404), token (401 missing, 403 wrong), then state: a finished or
 * cancelled target is Gone (410) — a replayed token can never restart a job; a target not (or no
 * longer) in the state the call needs is a Conflict (409).
 */
import { ConflictError, ForbiddenError, InputError, NotFoundError, UnauthorizedError } from '../common/domain/errors';
import { Ipv4 } from '../common/domain/ipv4';
import { Mac } from '../common/domain/mac';
import { type ActionCore, reason } from '../actions/engine/action-core';
import { msg } from '../i18n/module-messages';
import { type ActionRow, type ActionState, isTerminal, type TargetRow } from '../actions/model/action-types';
import { jobDescription, rebootAfter } from './job-description';
import { DEFAULT_UDPCAST_TUNING, type UdpcastTuning } from '../actions/params/udpcast-tuning';
import { tokenMatches } from './job-identity';

/** 410: the job existed but is over (finished or cancelled). A ConflictError elsewhere (409). */
export class GoneError extends ConflictError {}

export const MAX_AGENT_TEXT_BYTES = 64 * 1024;
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

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

export class AgentJobs {
  constructor(
    private readonly core: ActionCore,
    /** Read at each job fetch: a settings change applies to the next sender. */
    private readonly tuning: () => UdpcastTuning = () => DEFAULT_UDPCAST_TUNING,
  ) {}

  /** GET job: consumes the boot plan and moves the target to running, in one transaction. */
  fetchJob(jobId: string, token: string | undefined): string {
    return this.core.change(() => {
      const { target } = this.authenticate(jobId, token, 'armed');
      if (!this.core.bootPlans.consume(Mac.parse(target.mac), target.id)) {
        throw new ConflictError('no armed boot plan for this job (consumed, replaced or disarmed)');
      }
      const now = this.core.nowIso();
      this.core.moveTarget(target, 'running', reason('job fetched by the agent', 'event.target.fetched'), { startedAt: now });
      this.core.settle(target.actionId);
      // Read again: start-now may have changed min_receivers since the action was armed.
      const action = this.core.store.action(target.actionId)!;
      return jobDescription(action, this.core.store.target(target.id)!, this.tuning());
    });
  }

  progress(jobId: string, token: string | undefined, fields: Fields): void {
    const stage = field(fields, 'stage');
    if (stage !== undefined && !/^[a-z0-9_-]{1,32}$/.test(stage)) throw new InputError('stage: [a-z0-9_-], at most 32', 'stage');
    const percent = number(fields, 'percent', 0, 100, false);
    const bytes = number(fields, 'bytes', 0, Number.MAX_SAFE_INTEGER, true);
    const rateKbps = number(fields, 'rate_kbps', 0, 1e9, true);
    this.core.change(() => {
      const { target } = this.authenticate(jobId, token, 'running');
      if (stage !== undefined && stage !== target.stage) {
        this.core.event(target.actionId, target.id, 'info', `${target.name}: ${stage}`, msg('event.stage', { name: target.name, stage }));
      }
      // News resets the silence clock: a new stage or new figures, or a heartbeat while the agent
      // waits for others. The same figures again are not news: an agent stuck in a transfer
      // (its sender gone) keeps posting them, and must still fall to the silence limit.
      const news = (stage !== undefined && stage !== target.stage) || stage === 'waiting' ||
        (bytes !== undefined && bytes !== target.bytes) || (percent !== undefined && percent !== target.percent);
      this.core.store.updateTarget(target.id, { stage, percent, bytes, rateKbps, ...(news ? { updatedAt: this.core.nowIso() } : {}) });
      this.core.touch(target.actionId);
    });
  }

  log(jobId: string, token: string | undefined, text: unknown): void {
    const clean = cleanAgentText(text);
    this.core.change(() => {
      const { target } = this.authenticate(jobId, token, 'running');
      this.core.store.updateTarget(target.id, { log: lastBytes(target.log + clean), updatedAt: this.core.nowIso() });
      this.core.touch(target.actionId);
    });
  }

  /** Final result: target succeeded/failed, the action's state follows; returns the reboot line. */
  result(jobId: string, token: string | undefined, fields: Fields): string {
    const status = field(fields, 'status');
    if (status !== 'succeeded' && status !== 'failed') throw new InputError('status: succeeded or failed', 'status');
    const exitCode = number(fields, 'exit_code', -2147483648, 2147483647, true) ?? null;
    const rawMessage = field(fields, 'message');
    const message = rawMessage === undefined ? null : cleanAgentText(rawMessage, 4096).replace(/\s+/g, ' ').slice(0, 500);
    const dropped = addressList(field(fields, 'dropped'), 'dropped');
    return this.core.change(() => {
      const { target, action } = this.authenticate(jobId, token, 'running');
      const code = exitCode ?? '?';
      const why = message
        ? reason(`exit code ${code}: ${message}`, 'event.target.resultMessage', { code, message })
        : reason(`exit code ${code}`, 'event.target.result', { code });
      this.core.moveTarget(target, status, why, { exitCode, message }, status === 'failed' ? 'error' : 'info');
      if (target.role === 'sender' && dropped.length) this.core.failDroppedReceivers(action.id, dropped);
      if (status === 'failed' && target.role === 'sender') this.core.failReceiversWithoutSender(action.id);
      this.core.settle(action.id);
      return `reboot=${rebootAfter(action.params, status)}\n`;
    });
  }

  report(jobId: string, token: string | undefined, text: unknown): void {
    const content = cleanAgentText(text);
    this.core.change(() => {
      const { target } = this.authenticate(jobId, token, 'running');
      this.core.store.insertReport({ mac: target.mac, name: target.name, targetId: target.id, createdAt: this.core.nowIso(), content });
      this.core.store.updateTarget(target.id, { updatedAt: this.core.nowIso() });
      this.core.event(target.actionId, target.id, 'info', `${target.name}: report received (${Buffer.byteLength(content)} bytes)`);
    });
  }

  /**
   * Other agent endpoints (the server image store, src/images/): the running target and its
   * action, with the same checks as every agent call; the call counts as news from the agent.
   */
  authorize(jobId: string, token: string | undefined): { target: TargetRow; action: ActionRow } {
    return this.core.change(() => {
      const found = this.authenticate(jobId, token, 'running');
      this.core.store.updateTarget(found.target.id, { updatedAt: this.core.nowIso() });
      return found;
    });
  }

  /** An event about a job, on its action's page. */
  note(jobId: string, level: 'info' | 'warn' | 'error', message: string): void {
    this.core.change(() => {
      const target = this.core.store.target(jobId);
      if (target) this.core.event(target.actionId, target.id, level, message);
    });
  }

  private authenticate(jobId: string, token: string | undefined, needed: ActionState): { target: TargetRow; action: ActionRow } {
    if (token === undefined || token === '') throw new UnauthorizedError('missing bearer token');
    if (!JOB_ID.test(jobId)) throw new NotFoundError('unknown job');
    const target = this.core.store.target(jobId);
    if (!target) throw new NotFoundError('unknown job');
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw new UnauthorizedError('malformed bearer token');
    if (!tokenMatches(token, target.tokenHash)) throw new ForbiddenError('wrong token for this job');
    const action = this.core.store.action(target.actionId)!;
    if (isTerminal(target.state)) throw new GoneError(`job is ${target.state}`);
    if (target.state !== needed) {
      throw new ConflictError(target.state === 'running' ? 'job already fetched' : `job is ${target.state}, expected ${needed}`);
    }
    return { target, action };
  }
}
