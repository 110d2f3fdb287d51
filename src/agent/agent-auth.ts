/**
 * Who may make an agent call (docs/agent-protocol.md, "Sessions"). The boot token sits in a boot
 * file any PC may read, so it only fetches the job, once; every later call needs the session
 * secret that fetch answered, from the address that fetched it (with `agent.addressCheck =
 * reserved`, the default, the fetch itself must come from the target's reserved IP).
 *
 * Order of checks: job id (404), secret (401 missing, 403 wrong), then state: a finished or
 * cancelled target is Gone (410), a target not in the state the call needs is a Conflict (409).
 * Refusals that show a boot file in the wrong hands (a second fetch with the real token, the boot
 * token on a later call, the right secret from the wrong address) carry a notice: an event on the
 * action's page, recorded after the refused transaction rolled back (recordNotice).
 */
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../common/domain/errors';
import type { ActionCore } from '../actions/engine/action-core';
import { msg } from '../i18n/module-messages';
import { type ActionRow, type ActionState, isTerminal, type TargetRow } from '../actions/model/action-types';
import { type AddressCheck, type AgentCaller, type RefusalNotice, withNotice } from './agent-caller';
import { isJobId, isToken, tokenMatches } from './job-identity';

/** 410: the job existed but is over (finished or cancelled). A ConflictError elsewhere (409). */
export class GoneError extends ConflictError {}

/** Refusal events per job: enough to see who tried, never a flood from one hostile PC. */
export const MAX_REFUSAL_EVENTS = 20;

export interface AuthorizedJob {
  readonly target: TargetRow;
  readonly action: ActionRow;
}

export class JobAuth {
  constructor(private readonly core: ActionCore, private readonly addressCheck: () => AddressCheck) {}

  /** The job fetch: the boot token; in `reserved` mode, from the target's reserved IP. */
  forFetch(jobId: string, caller: AgentCaller): AuthorizedJob {
    const target = this.target(jobId, caller.token, 'missing bearer token');
    if (!isToken(caller.token)) throw new UnauthorizedError('malformed bearer token');
    if (!tokenMatches(caller.token!, target.tokenHash)) throw new ForbiddenError('wrong token for this job');
    const action = this.core.store.action(target.actionId)!;
    if (isTerminal(target.state)) throw new GoneError(`job is ${target.state}`);
    if (target.state === 'running') {
      throw withNotice(new ConflictError('job already fetched'), this.notice(target, 'event.agent.secondFetch', `a second fetch of the job was refused from ${addr(caller)} (already fetched from ${target.fetchedFrom ?? '?'})`, { address: addr(caller), first: target.fetchedFrom ?? '?' }));
    }
    if (target.state !== 'armed') throw new ConflictError(`job is ${target.state}, expected armed`);
    if (this.addressCheck() === 'reserved' && caller.address !== target.ip) throw this.wrongAddress(target, caller, 'fetch', target.ip);
    return { target, action };
  }

  /** Every call after the fetch: the session secret, from the address that fetched the job. */
  forSession(jobId: string, caller: AgentCaller, call: string, needed: ActionState = 'running'): AuthorizedJob {
    const target = this.target(jobId, caller.session ?? caller.token, 'missing session secret');
    if (caller.session === undefined || caller.session === '') {
      if (caller.token !== undefined && tokenMatches(caller.token, target.tokenHash)) {
        throw withNotice(new ForbiddenError('the boot token only fetches the job: this call needs its session secret'),
          this.notice(target, 'event.agent.bootToken', `agent call (${call}) refused from ${addr(caller)}: boot token without the session secret`, { call, address: addr(caller) }));
      }
      throw new UnauthorizedError('missing session secret');
    }
    if (!isToken(caller.session)) throw new UnauthorizedError('malformed session secret');
    if (target.sessionHash === null) {
      // No session yet: only the boot token's holder learns the job's state.
      if (!tokenMatches(caller.session, target.tokenHash)) throw new ForbiddenError('wrong session secret for this job');
      if (isTerminal(target.state)) throw new GoneError(`job is ${target.state}`);
      throw new ConflictError('job not fetched yet');
    }
    if (!tokenMatches(caller.session, target.sessionHash)) throw new ForbiddenError('wrong session secret for this job');
    const action = this.core.store.action(target.actionId)!;
    if (isTerminal(target.state)) throw new GoneError(`job is ${target.state}`);
    if (caller.address !== target.fetchedFrom) throw this.wrongAddress(target, caller, call, target.fetchedFrom ?? '?');
    if (target.state !== needed) throw new ConflictError(`job is ${target.state}, expected ${needed}`);
    return { target, action };
  }

  /** The address a PC must boot from to be served its job's boot file, or null (any). */
  bootAddress(target: TargetRow): string | null {
    return this.addressCheck() === 'reserved' ? target.ip : null;
  }

  /**
   * Records a refusal's event (deduplicated, at most MAX_REFUSAL_EVENTS per job) in its own
   * transaction; the refused call's own transaction has rolled back.
   */
  recordNotice(n: RefusalNotice): void {
    this.core.change(() => {
      const t = this.core.store.target(n.targetId);
      if (!t) return;
      const message = `${t.name}: ${n.text}`;
      const db = this.core.db;
      const seen = db.prepare('SELECT 1 FROM clonage_events WHERE target_id = ? AND message = ? LIMIT 1').get(t.id, message);
      const count = (db.prepare("SELECT COUNT(*) AS n FROM clonage_events WHERE target_id = ? AND message_key LIKE 'event.agent.%'").get(t.id) as { n: number }).n;
      if (seen || count >= MAX_REFUSAL_EVENTS) {
        this.core.logger.warn(`action ${t.actionId}: ${message}`, { actionId: t.actionId, targetId: t.id });
        return;
      }
      this.core.event(t.actionId, t.id, 'warn', message, msg(n.key, { ...n.vars, name: t.name }));
    });
  }

  notice(target: TargetRow, key: RefusalNotice['key'], text: string, vars: RefusalNotice['vars']): RefusalNotice {
    return { targetId: target.id, key, text, vars };
  }

  private wrongAddress(target: TargetRow, caller: AgentCaller, call: string, expected: string): ForbiddenError {
    return withNotice(new ForbiddenError(`agent call from ${addr(caller)} refused: this job answers ${expected} only`),
      this.notice(target, 'event.agent.wrongAddress', `agent call (${call}) refused from ${addr(caller)}, expected ${expected}`, { call, address: addr(caller), expected }));
  }

  private target(jobId: string, secret: string | undefined, missing: string): TargetRow {
    if (secret === undefined || secret === '') throw new UnauthorizedError(missing);
    if (!isJobId(jobId)) throw new NotFoundError('unknown job');
    const target = this.core.store.target(jobId);
    if (!target) throw new NotFoundError('unknown job');
    return target;
  }
}

function addr(caller: AgentCaller): string {
  return caller.address ?? 'unknown address';
}
