/**
 * What the post-clone script (netlogon/clonage-postclone.ps1) asks once a clone boots Windows:
 * its own name, the join account, and where to report. Every call carries the action's
 * post-clone token; it is accepted only for the MACs of that action that actually received the
 * image (receivers that fetched their job) or prepared it (the emitter, once its scripts were
 * placed: it may have left the domain and must be able to rejoin, even after a cancel), and only
 * while the action runs or for `postclone.validHours` after it ended.
 */
import type { Database } from 'better-sqlite3';
import { ActionStore } from '../actions/model/action-store';
import type { TargetRow } from '../actions/model/action-types';
import { GoneError } from '../agent/agent-jobs';
import { hashToken, tokenMatches } from '../agent/job-identity';
import { ForbiddenError, InputError, NotFoundError, UnauthorizedError } from '../common/domain/errors';
import { Mac } from '../common/domain/mac';
import type { Clock, DhcpApi, Logger } from '../host/contract';
import { type JoinCredentials, joinCredentialsFrom, postCloneValidHours, type Settings } from './emitter-settings';
import { PreparationStore } from './preparation-store';

export interface PostCloneDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dhcp: Pick<DhcpApi, 'findByMac'>;
  readonly settings: Settings;
}

export const POSTCLONE_STATUSES = ['ok', 'failed'] as const;
export type PostCloneStatus = (typeof POSTCLONE_STATUSES)[number];

export class PostCloneService {
  private readonly store: PreparationStore;
  private readonly actions: ActionStore;

  constructor(private readonly deps: PostCloneDeps) {
    this.store = new PreparationStore(deps.db);
    this.actions = new ActionStore(deps.db);
  }

  /**
   * The target a call is about. 401 no token, 400 not a MAC, 403 unknown token, 410 the action
   * ended too long ago, 404 the MAC is not one of the action's cloned machines.
   */
  authorize(token: string | undefined, macInput: unknown): TargetRow {
    if (!token) throw new UnauthorizedError('a bearer token is required');
    const mac = Mac.parse(macInput, 'mac');
    // The row is found by the SHA-256 of the presented token: an attacker cannot steer that hash,
    // so the index lookup tells nothing; the constant-time comparison is the actual check.
    const row = /^[A-Za-z0-9_-]{43}$/.test(token) ? this.store.byPostcloneHash(hashToken(token)) : null;
    if (!row || !tokenMatches(token, row.postcloneTokenHash)) throw new ForbiddenError('unknown post-clone token');
    const action = this.actions.action(row.actionId);
    if (!action) throw new GoneError('the action no longer exists');
    const hours = postCloneValidHours(this.deps.settings);
    if (action.finishedAt && Date.parse(action.finishedAt) + hours * 3_600_000 < this.deps.clock.now().getTime()) {
      throw new GoneError(`the action ended more than ${hours} hours ago`);
    }
    const target = this.actions.targets(action.id).find((t) => t.mac === mac.toString());
    if (!target) throw new NotFoundError('this MAC is not a machine of the action');
    const cloned = target.role === 'sender' ? row.scriptsWrittenAt !== null : target.startedAt !== null;
    if (!cloned) throw new NotFoundError(`${target.name} did not take part in the clone`);
    return target;
  }

  /** The machine's own name: its DHCP reservation now, else the name recorded with the action. */
  name(token: string | undefined, macInput: unknown): string {
    const target = this.authorize(token, macInput);
    const reservation = this.deps.dhcp.findByMac(Mac.parse(target.mac));
    return reservation ? reservation.name.value : target.name;
  }

  /** The join account, or null when none is configured (the clones are only renamed). */
  join(token: string | undefined, macInput: unknown): JoinCredentials | null {
    const target = this.authorize(token, macInput);
    const creds = joinCredentialsFrom(this.deps.settings);
    this.deps.logger.info(`post-clone: join ${creds ? `account for ${creds.domain} given` : 'not configured (rename only)'}`,
      { actionId: target.actionId, machine: target.name });
    return creds;
  }

  /** Records the script's outcome on the action (once per machine and status). */
  done(token: string | undefined, macInput: unknown, statusInput: unknown): void {
    const target = this.authorize(token, macInput);
    if (typeof statusInput !== 'string' || !(POSTCLONE_STATUSES as readonly string[]).includes(statusInput)) {
      throw new InputError(`status: expected ${POSTCLONE_STATUSES.join(' or ')}`, 'status');
    }
    const ok = statusInput === 'ok';
    const message = `${target.name}: post-clone ${ok ? 'done (renamed / rejoined)' : 'failed (see %SystemRoot%\\Temp\\clonage-postclone.log on the PC)'}`;
    const seen = this.deps.db
      .prepare('SELECT 1 FROM clonage_events WHERE action_id = ? AND target_id = ? AND message = ? LIMIT 1')
      .get(target.actionId, target.id, message);
    if (seen) return;
    this.actions.appendEvent({ actionId: target.actionId, targetId: target.id, at: this.deps.clock.now().toISOString(), level: ok ? 'info' : 'warn', message });
    this.deps.logger[ok ? 'info' : 'warn'](`action ${target.actionId}: ${message}`, { actionId: target.actionId });
  }
}
