/**
 * The EmitterPreparer for clones of Windows domain PCs (SE3 §3, replacing sysprep.sh and the
 * unauthenticated remontee_udpcast.php?umode=pre). For an action whose `domain` is
 * `windows-domain` it:
 *  1. makes an ack token and a post-clone token (32 random bytes each, base64url; only their
 *     SHA-256 is stored), renders the emitter scripts and places them in the emitter's netlogon
 *     folder (local directory or SMB share, from the settings), then wakes/reboots the emitter;
 *  2. waits for the acknowledgement: an in-process waiter the ack route wakes up, plus the
 *     action's change notifications and a slow poll of the database (a restart resumes the wait
 *     with the same tokens; prepare() is idempotent);
 *  3. removes the scripts once the emitter acknowledged, and also when the action is cancelled or
 *     fails (timeout) — then prepare() rejects and nothing is armed.
 * Other actions resolve at once. Timeouts are the service's (emitter.ackTimeoutMinutes).
 */
import { hashToken, newToken, tokenMatches, ACTION_ID_PATTERN } from '../agent/job-identity';
import type { EmitterPreparer } from '../actions/engine/action-lifecycle';
import { cloneDomainOf } from '../actions/params/clone-params';
import type { ActionRow, TargetRow } from '../actions/model/action-types';
import type { ActionEvents, EventLevel } from '../actions/engine/ports';
import type { MessageRef } from '../common/domain/errors';
import { msg } from '../i18n/module-messages';
import { GoneError } from '../agent/agent-jobs';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../common/domain/errors';
import { Hostname } from '../common/domain/hostname';
import { Ipv4 } from '../common/domain/ipv4';
import { Mac } from '../common/domain/mac';
import type { Clock, Logger } from '../host/contract';
import { EMITTER_SCRIPT, emitterFiles, POSTCLONE_SCRIPT } from './emitter-scripts';
import { type NetlogonDestination, NetlogonWriter } from './netlogon-writer';
import type { NetlogonTemplates } from './netlogon-template';
import type { ScriptOptions } from './emitter-settings';
import { PreparationStore } from './preparation-store';
import type { Database } from 'better-sqlite3';

export interface EmitterMachine {
  readonly name: string;
  readonly mac: Mac;
  readonly ip: Ipv4;
}

export interface NetlogonEmitterPreparerDeps {
  /** Its own table (clonage_emitter_preparations). */
  readonly db: Database;
  /** The actions it prepares: reads, change notifications, and events on their pages. */
  readonly events: ActionEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly templates: NetlogonTemplates;
  /** The module's base URL as PCs reach it (publicBaseUrl + mountPath), read at each write. */
  readonly baseUrl: () => string;
  /** Where scripts go, from the current settings (read at each write and removal). */
  readonly destination: () => Promise<NetlogonDestination>;
  readonly scriptOptions?: () => ScriptOptions;
  /** Starts or reboots the emitter once its scripts are in place; a failure is only a warning. */
  readonly wakeEmitter?: (machine: EmitterMachine) => Promise<void>;
  /** Safety-net re-check of the database while waiting; default 5 s. */
  readonly pollMs?: number;
}

export const SCRIPT_NAMES = [EMITTER_SCRIPT, POSTCLONE_SCRIPT] as const;

interface Wait {
  check(): void;
  /** Stops listening without settling (module stop). */
  detach(): void;
  unsubscribe: (() => void) | null;
}

export class NetlogonEmitterPreparer implements EmitterPreparer {
  readonly store: PreparationStore;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly removals = new Map<string, Promise<void>>();
  private readonly writes = new Set<Promise<unknown>>();
  private readonly waits = new Map<string, Set<Wait>>();
  private suspended = false;

  constructor(private readonly deps: NetlogonEmitterPreparerDeps) {
    this.store = new PreparationStore(deps.db);
  }

  /** Only domain PCs leave the domain first; Linux and workgroup emitters need nothing. */
  needsPreparation(action: ActionRow): boolean {
    return action.type === 'clone' && cloneDomainOf(action.params) === 'windows-domain';
  }

  prepare(action: ActionRow, emitter: TargetRow): Promise<void> {
    if (!this.needsPreparation(action)) return Promise.resolve();
    const running = this.inflight.get(action.id);
    if (running) return running;
    const p = this.run(action.id, emitter).finally(() => this.inflight.delete(action.id));
    this.inflight.set(action.id, p);
    return p;
  }

  private async run(actionId: string, emitter: TargetRow): Promise<void> {
    void this.sweep();
    const machine = Hostname.parse(emitter.name, 'emitter');
    const row = this.store.get(actionId);
    if (row?.scriptsWrittenAt) {
      if (!row.ackedAt) {
        this.event(actionId, emitter.id, 'info', `emitter preparation resumed: still waiting for ${machine.value} to acknowledge`,
          msg('event.emitter.resumed', { machine: machine.value }));
      }
    } else {
      await this.track(this.writeScripts(actionId, emitter, machine));
    }
    try {
      await this.waitForAck(actionId);
    } catch (e) {
      this.store.markFailure(actionId, (e as Error).message);
      await this.removeScripts(actionId);
      throw e;
    }
    // The lifecycle arms the plans as soon as this resolves; the removal runs meanwhile (idle() awaits it).
    void this.removeScripts(actionId);
  }

  private async writeScripts(actionId: string, emitter: TargetRow, machine: Hostname): Promise<void> {
    const ackToken = newToken();
    const postCloneToken = newToken();
    if (!this.store.saveFreshTokens(actionId, emitter.id, hashToken(ackToken), hashToken(postCloneToken))) return;
    let location: string;
    try {
      const files = emitterFiles(this.deps.templates, {
        baseUrl: this.deps.baseUrl(), actionId, machine, ackToken, postCloneToken, ...this.deps.scriptOptions?.(),
      });
      location = (await new NetlogonWriter(await this.deps.destination()).write(machine, files)).location;
    } catch (e) {
      // The writer is all-or-nothing: nothing of this attempt is left on the share.
      const why = `cannot place the emitter scripts: ${(e as Error).message}`;
      this.store.markFailure(actionId, why);
      this.store.markRemoved(actionId, this.now());
      throw new Error(why);
    }
    this.store.markWritten(actionId, this.now());
    this.event(actionId, emitter.id, 'info',
      `scripts for ${machine.value} written to ${location}; it runs them at its next startup (wake it, or restart it if it is on), leaves the domain and acknowledges`,
      msg('event.emitter.scriptsWritten', { machine: machine.value, location }));
    if (this.deps.wakeEmitter) {
      try {
        await this.deps.wakeEmitter({ name: machine.value, mac: Mac.parse(emitter.mac), ip: Ipv4.parse(emitter.ip) });
      } catch (e) {
        const error = (e as Error).message;
        this.event(actionId, emitter.id, 'warn', `${machine.value}: wake/reboot failed (${error}); restart it by hand`,
          msg('event.emitter.wakeFailed', { machine: machine.value, error }));
      }
    }
  }

  /** Resolves once the emitter acknowledged; rejects when the action stops preparing without an ack. */
  private waitForAck(actionId: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Stopping: left pending on purpose (see suspend()); the next process resumes the wait.
      if (this.suspended) return;
      let done = false;
      let timer: NodeJS.Timeout | null = null;
      const set = this.waits.get(actionId) ?? new Set<Wait>();
      this.waits.set(actionId, set);
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        if (timer) clearInterval(timer);
        wait.unsubscribe?.();
        set.delete(wait);
        if (set.size === 0) this.waits.delete(actionId);
        if (err) reject(err);
        else resolve();
      };
      const wait: Wait = {
        unsubscribe: null,
        detach: () => {
          if (timer) clearInterval(timer);
          wait.unsubscribe?.();
        },
        check: () => {
          if (done || this.suspended) return;
          if (this.store.get(actionId)?.ackedAt) return finish();
          const action = this.deps.events.action(actionId);
          if (action?.state === 'preparing') return;
          const why = action ? `the action is ${action.state}${action.error ? ` (${action.error})` : ''}` : 'the action is gone';
          finish(new Error(`no acknowledgement from the emitter: ${why}`));
        },
      };
      set.add(wait);
      wait.unsubscribe = this.deps.events.subscribe(actionId, () => wait.check());
      timer = setInterval(() => wait.check(), this.deps.pollMs ?? 5000);
      timer.unref?.();
      wait.check();
    });
  }

  /**
   * The acknowledgement route: `Authorization: Bearer <ackToken>` for `?action=<id>`. Throws
   * Unauthorized (no token), NotFound (no such preparation), Forbidden (wrong token), Gone
   * (already acknowledged: replay), Conflict (the action is not preparing).
   */
  acknowledge(actionId: unknown, token: string | undefined): void {
    if (!token) throw new UnauthorizedError('a bearer token is required');
    if (typeof actionId !== 'string' || !ACTION_ID_PATTERN.test(actionId)) throw new NotFoundError('no such action');
    const row = this.store.get(actionId);
    if (!row) throw new NotFoundError('no emitter preparation for this action');
    if (!tokenMatches(token, row.ackTokenHash)) throw new ForbiddenError('wrong token for this action');
    const outcome = this.store.acknowledge(actionId, this.now(), () => this.deps.events.action(actionId)?.state ?? null);
    if (outcome === 'replay') throw new GoneError('already acknowledged');
    if (outcome === 'missing') throw new NotFoundError('no emitter preparation for this action');
    if (outcome === 'not-preparing') throw new ConflictError(`the action is ${this.deps.events.action(actionId)?.state ?? 'gone'}, not preparing`);
    this.event(actionId, row.emitterTargetId, 'info', 'the emitter left the domain and acknowledged: arming the boot plans', msg('event.emitter.acknowledged'));
    for (const w of [...(this.waits.get(actionId) ?? [])]) w.check();
  }

  /** Removes the scripts of every action that no longer needs them (after a restart, a failed removal). */
  async sweep(): Promise<void> {
    if (this.suspended) return;
    try {
      const pending = this.store.unremoved().filter((r) => r.ackedAt !== null || this.deps.events.action(r.actionId)?.state !== 'preparing');
      await Promise.all(pending.map((r) => this.removeScripts(r.actionId)));
    } catch (e) {
      this.deps.logger.warn('emitter scripts sweep failed', { error: String(e) });
    }
  }

  /** Safe to call twice; a failure is recorded and retried by the next sweep. */
  removeScripts(actionId: string): Promise<void> {
    const running = this.removals.get(actionId);
    if (running) return running;
    const p = this.removeNow(actionId)
      .catch((e: unknown) => this.deps.logger.warn('emitter scripts removal failed', { actionId, error: String(e) }))
      .finally(() => this.removals.delete(actionId));
    this.removals.set(actionId, p);
    return p;
  }

  private async removeNow(actionId: string): Promise<void> {
    const row = this.store.get(actionId);
    if (!row || row.removedAt) return;
    const target = this.deps.events.target(row.emitterTargetId);
    if (!target) return this.store.markRemoved(actionId, this.now());
    try {
      const machine = Hostname.parse(target.name, 'emitter');
      const destination = await this.deps.destination();
      await new NetlogonWriter(destination).remove(machine, SCRIPT_NAMES);
      this.store.markRemoved(actionId, this.now());
      const location = destination.describe(machine);
      this.event(actionId, target.id, 'info', `emitter scripts removed from ${location}`, msg('event.emitter.scriptsRemoved', { location }));
    } catch (e) {
      const error = (e as Error).message;
      this.event(actionId, target.id, 'warn', `could not remove the emitter scripts (${error}); retried later`, msg('event.emitter.removeFailed', { error }));
    }
  }

  /**
   * Module stop: waits for file operations in progress, then lets go of preparations waiting for
   * an acknowledgement without settling them (settling would arm or fail the action). The rows
   * stay; after a restart the service relaunches prepare(), which resumes with the same tokens.
   */
  async suspend(): Promise<void> {
    this.suspended = true;
    for (const set of this.waits.values()) for (const w of set) w.detach();
    await this.idle();
  }

  /** Resolves when the script writes and removals started here are over (not the waits: tests, stop). */
  async idle(): Promise<void> {
    do await Promise.allSettled([...this.writes, ...this.removals.values()]);
    while (this.writes.size || this.removals.size);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.writes.add(p);
    return p.finally(() => this.writes.delete(p));
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  /** Through the ActionEvents port: on the live page at once, in the reader's language (ActionCore logs it too). */
  private event(actionId: string, targetId: string | null, level: EventLevel, message: string, ref: MessageRef): void {
    this.deps.events.event(actionId, targetId, level, message, ref);
  }
}
