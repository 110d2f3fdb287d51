/**
 * What the post-clone script (netlogon/clonage-postclone.ps1) asks once a clone boots Windows:
 * its own name, the join account, and where to report (issue 12, item 5).
 *
 * The image holds one **claim token** per action (the disk is copied byte for byte, so every clone
 * has the same one). It only buys, with `name`, a **machine token** of the asking MAC, from that
 * machine's reserved address (`agent.addressCheck = reserved`; with `fetcher`, from the address
 * that claimed first). The machine token alone may ask for the join account — once — and report
 * `done`, after which it is dead. Accepted for the MACs of the action that took part (receivers
 * that fetched their job, the emitter once its scripts were placed); every token is revoked as soon
 * as the action is cancelled or failed, and for a succeeded one after `postclone.validHours` (the
 * clones run the task after the clone, when the action has already succeeded).
 */
import type { Database } from 'better-sqlite3';
import type { TargetRow } from '../actions/model/action-types';
import type { ActionEvents, EventLevel } from '../actions/engine/ports';
import type { MessageRef } from '../common/domain/errors';
import { GoneError } from '../agent/agent-jobs';
import { hashToken, isToken, newToken, tokenMatches } from '../agent/job-identity';
import { ConflictError, ForbiddenError, InputError, NotFoundError, UnauthorizedError } from '../common/domain/errors';
import { Mac } from '../common/domain/mac';
import type { Clock, DhcpApi, Logger } from '../host/contract';
import { msg } from '../i18n/module-messages';
import type { JoinCredentials } from './emitter-settings';
import type { ModuleSettings } from '../settings/module-settings';
import { PreparationStore } from './preparation-store';

export interface PostCloneDeps {
  /** The post-clone tables (token hashes of the preparations and of the machines). */
  readonly db: Database;
  /** The cloned actions: reads, and the script's outcomes and refusals on their pages. */
  readonly events: Pick<ActionEvents, 'action' | 'target' | 'targets' | 'eventOnce'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dhcp: Pick<DhcpApi, 'findByMac'>;
  readonly settings: ModuleSettings;
}

export const POSTCLONE_STATUSES = ['ok', 'failed'] as const;
export type PostCloneStatus = (typeof POSTCLONE_STATUSES)[number];

/** A machine's post-clone record (clonage_postclone_machines). */
interface MachineRow {
  readonly target_id: string;
  readonly action_id: string;
  readonly token_hash: string;
  readonly address: string | null;
  readonly join_given_at: string | null;
  readonly done_at: string | null;
}

export class PostCloneService {
  private readonly store: PreparationStore;
  private readonly actions: PostCloneDeps['events'];

  constructor(private readonly deps: PostCloneDeps) {
    this.store = new PreparationStore(deps.db);
    this.actions = deps.events;
  }

  /**
   * The target a claim is about. 401 no token, 400 not a MAC, 403 unknown token or wrong address,
   * 410 action cancelled or ended too long ago, 404 the MAC is not one of the action's cloned machines.
   */
  private claimed(claimToken: string | undefined, macInput: unknown, address: string | null): TargetRow {
    if (!claimToken) throw new UnauthorizedError('a bearer token is required');
    const mac = Mac.parse(macInput, 'mac');
    // The row is found by the SHA-256 of the presented token: an attacker cannot steer that hash,
    // so the index lookup tells nothing; the constant-time comparison is the actual check.
    const row = isToken(claimToken) ? this.store.byPostcloneHash(hashToken(claimToken)) : null;
    if (!row || !tokenMatches(claimToken, row.postcloneTokenHash)) throw new ForbiddenError('unknown post-clone token');
    this.assertLive(row.actionId);
    const target = this.actions.targets(row.actionId).find((t) => t.mac === mac.toString());
    if (!target) throw new NotFoundError('this MAC is not a machine of the action');
    const cloned = target.role === 'sender' ? row.scriptsWrittenAt !== null : target.startedAt !== null;
    if (!cloned) throw new NotFoundError(`${target.name} did not take part in the clone`);
    if (this.deps.settings.addressCheck() === 'reserved' && address !== target.ip) this.refuse(target, address, target.ip);
    return target;
  }

  /** Cancelled: every token of the action is revoked; finished: only for postclone.validHours. */
  private assertLive(actionId: string): void {
    const action = this.actions.action(actionId);
    if (!action) throw new GoneError('the action no longer exists');
    // A cancel (which fails the PCs that were running) or a failure ends post-clone at once; only a
    // succeeded clone keeps its tokens for the window in which the clones run their task.
    if (action.state === 'cancelled' || action.state === 'failed') throw new GoneError(`the action ${action.state === 'failed' ? 'failed or was cancelled' : 'was cancelled'}: its post-clone tokens are revoked`);
    const hours = this.deps.settings.postCloneValidHours();
    if (action.finishedAt && Date.parse(action.finishedAt) + hours * 3_600_000 < this.deps.clock.now().getTime()) {
      throw new GoneError(`the action ended more than ${hours} hours ago`);
    }
  }

  /** The machine a machine token belongs to, from its address, still live. */
  private machine(machineToken: string | undefined, macInput: unknown, address: string | null): { target: TargetRow; row: MachineRow } {
    if (!machineToken) throw new UnauthorizedError('a bearer token is required');
    const mac = Mac.parse(macInput, 'mac');
    const row = isToken(machineToken)
      ? (this.deps.db.prepare('SELECT * FROM clonage_postclone_machines WHERE token_hash = ?').get(hashToken(machineToken)) as MachineRow | undefined)
      : undefined;
    if (!row || !tokenMatches(machineToken, row.token_hash)) throw new ForbiddenError('unknown machine token (ask the name first)');
    const target = this.actions.target(row.target_id);
    if (!target || target.mac !== mac.toString()) throw new ForbiddenError('this machine token belongs to another machine');
    this.assertLive(row.action_id);
    if (row.done_at !== null) throw new GoneError('this machine reported its post-clone: its token is revoked');
    if (address !== row.address) this.refuse(target, address, row.address ?? '?');
    return { target, row };
  }

  /**
   * The machine's own name (its DHCP reservation now, else the name recorded with the action)
   * and a fresh machine token, which replaces an earlier one (a script that crashed after `name`
   * asks again; only from the same address).
   */
  name(claimToken: string | undefined, macInput: unknown, address: string | null = null): { name: string; machineToken: string } {
    const target = this.claimed(claimToken, macInput, address);
    const db = this.deps.db;
    const before = db.prepare('SELECT address, done_at FROM clonage_postclone_machines WHERE target_id = ?').get(target.id) as { address: string | null; done_at: string | null } | undefined;
    if (before && before.address !== address) this.refuse(target, address, before.address ?? '?');
    if (before?.done_at) throw new GoneError('this machine reported its post-clone: its tokens are revoked');
    const machineToken = newToken();
    // Same address only (checked above, and again by the WHERE): the claim cannot move to another machine.
    const stored = db.prepare(`INSERT INTO clonage_postclone_machines (target_id, action_id, token_hash, address, issued_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(target_id) DO UPDATE SET token_hash = excluded.token_hash, issued_at = excluded.issued_at
      WHERE clonage_postclone_machines.address IS excluded.address AND clonage_postclone_machines.done_at IS NULL`)
      .run(target.id, target.actionId, hashToken(machineToken), address, this.deps.clock.now().toISOString()).changes;
    if (stored !== 1) throw new ConflictError('another claim for this machine came first');
    const reservation = this.deps.dhcp.findByMac(Mac.parse(target.mac));
    return { name: reservation ? reservation.name.value : target.name, machineToken };
  }

  /** The join account, once per machine, or null when none is configured (the clones are only renamed). */
  join(machineToken: string | undefined, macInput: unknown, address: string | null = null): JoinCredentials | null {
    const { target, row } = this.machine(machineToken, macInput, address);
    const creds = this.deps.settings.join();
    if (creds) {
      const now = this.deps.clock.now().toISOString();
      const given = this.deps.db.prepare('UPDATE clonage_postclone_machines SET join_given_at = ? WHERE target_id = ? AND join_given_at IS NULL').run(now, row.target_id).changes === 1;
      if (!given) {
        this.event(target, 'warn', `${target.name}: the domain join account was asked again from ${address ?? '?'}: refused, it is given once`, msg('event.postclone.joinAgain', { name: target.name, address: address ?? '?' }));
        throw new ConflictError('the join account is given once per machine');
      }
    }
    this.deps.logger.info(`post-clone: join ${creds ? `account for ${creds.domain} given` : 'not configured (rename only)'}`,
      { actionId: target.actionId, machine: target.name });
    return creds;
  }

  /** Records the script's outcome on the action (once per machine and status); the token is dead afterwards. */
  done(machineToken: string | undefined, macInput: unknown, statusInput: unknown, address: string | null = null): void {
    const { target } = this.machine(machineToken, macInput, address);
    if (typeof statusInput !== 'string' || !(POSTCLONE_STATUSES as readonly string[]).includes(statusInput)) {
      throw new InputError(`status: expected ${POSTCLONE_STATUSES.join(' or ')}`, 'status');
    }
    const ok = statusInput === 'ok';
    this.deps.db.prepare('UPDATE clonage_postclone_machines SET done_at = ? WHERE target_id = ?').run(this.deps.clock.now().toISOString(), target.id);
    this.event(target, ok ? 'info' : 'warn', `${target.name}: post-clone ${ok ? 'done (renamed / rejoined)' : 'failed (see %SystemRoot%\\Temp\\clonage-postclone.log on the PC)'}`,
      msg(ok ? 'event.postclone.done' : 'event.postclone.failed', { name: target.name }));
  }

  /** Someone with the image's claim token, or a machine token, at the wrong address: 403, logged, shown. */
  private refuse(target: TargetRow, address: string | null, expected: string): never {
    const text = `${target.name}: post-clone call refused from ${address ?? 'unknown address'}, expected ${expected}`;
    this.event(target, 'warn', text, msg('event.postclone.wrongAddress', { name: target.name, address: address ?? '?', expected }));
    throw new ForbiddenError(`post-clone call from ${address ?? 'unknown address'} refused: this machine answers ${expected} only`);
  }

  /** One event per machine and message (a retrying script or a prober does not flood the page). */
  private event(target: TargetRow, level: EventLevel, message: string, ref: MessageRef): void {
    // Through the ActionEvents port: on the live page at once, in the reader's language; logged there.
    if (!this.actions.eventOnce(target.actionId, target.id, level, message, ref)) {
      this.deps.logger[level === 'error' ? 'warn' : level](`action ${target.actionId}: ${message}`, { actionId: target.actionId });
    }
  }
}
