/**
 * The part every action operation shares: state changes that check the state machine, append an
 * event and recompute the action's state, all in one SQLite transaction; subscribers are told
 * only after the commit, so a live page never shows a change that was rolled back.
 */
import type { Database } from 'better-sqlite3';
import type { Clock, Logger } from '../../host/contract';
import type { BootPlan } from '../../boot/boot-plan';
import { Mac } from '../../common/domain/mac';
import { ActionBus } from './action-bus';
import { ActionStore, type TargetPatch } from '../model/action-store';
import { type ActionRow, type ActionState, type EventRow, isTerminal, type TargetRow } from '../model/action-types';
import { deriveActionState, transition } from '../model/state-machine';
import type { MessageRef } from '../../common/domain/errors';
import { msg, type ModuleMessageKey } from '../../i18n/module-messages';
import type { MessageVars } from '../../common/i18n/translator';

/** Why a target moves: the English text (logs, APIs) and its catalog message (`event.target.*`). */
export interface Reason {
  readonly text: string;
  readonly key: Extract<ModuleMessageKey, `event.target.${string}`>;
  readonly vars?: MessageVars;
}

export function reason(text: string, key: Reason['key'], vars?: MessageVars): Reason {
  return { text, key, ...(vars ? { vars } : {}) };
}

/** What actions need from the boot-plan store (src/boot/boot-plan-store.ts fits). Synchronous, same database. */
export interface BootPlans {
  arm(mac: Mac, plan: BootPlan): void;
  /** The unconsumed plan of a MAC, or null. */
  get(mac: Mac): BootPlan | null;
  /** True for exactly one caller, when `jobId` is the unconsumed plan of `mac`. */
  consume(mac: Mac, jobId: string): boolean;
  disarmJob(jobId: string): boolean;
  /** Job `jobId`, consumed by `mac`, left its disk partly written: the MAC must not boot that disk. */
  markIncomplete(mac: Mac, jobId: string): boolean;
}

/** What the agent said of its disk in a failed result (`disk=incomplete`), when it said it. */
export type DiskOutcome = 'incomplete' | 'untouched';

type Level = EventRow['level'];

export class ActionCore {
  readonly store: ActionStore;
  readonly bus: ActionBus;
  private pending: Map<string, EventRow[]> | null = null;

  constructor(readonly db: Database, readonly clock: Clock, readonly bootPlans: BootPlans, readonly logger: Logger) {
    this.store = new ActionStore(db);
    this.bus = new ActionBus(logger);
  }

  nowIso(): string {
    return this.clock.now().toISOString();
  }

  /**
   * Runs `fn` in a transaction (IMMEDIATE: read-then-write without another writer slipping in)
   * and publishes the collected updates after the commit. Nested calls join the outer one.
   */
  change<T>(fn: () => T): T {
    if (this.pending) return fn();
    this.pending = new Map();
    let result: T;
    let updates: Map<string, EventRow[]>;
    try {
      result = this.db.transaction(fn).immediate();
    } finally {
      updates = this.pending;
      this.pending = null;
    }
    for (const [actionId, events] of updates) this.bus.publish({ actionId, events });
    return result;
  }

  /** Marks an action as changed without an event (progress): live pages refresh it. */
  touch(actionId: string): void {
    if (!this.pending) {
      this.bus.publish({ actionId, events: [] });
      return;
    }
    if (!this.pending.has(actionId)) this.pending.set(actionId, []);
  }

  /** Records an event; `ref` is the same event as a catalog message, for pages in the reader's language. */
  event(actionId: string, targetId: string | null, level: Level, message: string, ref?: MessageRef): EventRow {
    const e = this.store.appendEvent({ actionId, targetId, at: this.nowIso(), level, message: message.slice(0, 1000), ...(ref ? { ref } : {}) });
    this.logger[level === 'error' ? 'warn' : 'info'](`action ${actionId}: ${message}`, { actionId, targetId });
    if (this.pending) {
      const list = this.pending.get(actionId) ?? [];
      list.push(e);
      this.pending.set(actionId, list);
    } else {
      this.bus.publish({ actionId, events: [e] });
    }
    return e;
  }

  /**
   * Moves one target (state machine checked), records why. Does not recompute the action: see
   * settle(). A `Reason` also gives the event's catalog message (name, role, from, to are added).
   */
  moveTarget(stale: TargetRow, to: ActionState, why: string | Reason, patch: TargetPatch = {}, level: Level = 'info', disk?: DiskOutcome): void {
    // The state is read again: the caller's row may predate a change made earlier in this transaction.
    const t = this.store.target(stale.id);
    if (!t) throw new Error(`moveTarget: no target ${stale.id}`);
    transition(t.state, to, 'target');
    const now = this.nowIso();
    this.store.updateTarget(t.id, { ...patch, state: to, updatedAt: now, ...(isTerminal(to) ? { finishedAt: now } : {}) });
    const text = typeof why === 'string' ? why : why.text;
    const ref = typeof why === 'string' ? undefined : msg(why.key, { ...why.vars, name: t.name, role: t.role, from: t.state, to });
    this.event(t.actionId, t.id, level, `${t.name} (${t.role}): ${t.state} → ${to}${text ? ` — ${text}` : ''}`, ref);
    if (to === 'failed' && t.state === 'running' && (disk ?? guessDisk(t)) === 'incomplete') this.keepOffDisk(t);
  }

  /**
   * The PC's disk is partly written: its consumed plan becomes `incomplete` (its boot file shows
   * DISQUE INCOMPLET and boots from the network again each minute, never the disk), said on the
   * action page with what to do. Not when a new plan was armed for the PC since.
   */
  private keepOffDisk(t: TargetRow): void {
    let marked = false;
    try {
      marked = this.bootPlans.markIncomplete(Mac.parse(t.mac), t.id);
    } catch (e) {
      this.logger.error('incomplete-disk plan not set', { jobId: t.id, error: String((e as Error)?.message ?? e) });
    }
    if (!marked) return;
    this.event(t.actionId, t.id, 'warn',
      `${t.name}: disk partly written; the PC no longer boots it (its network boot shows DISQUE INCOMPLET and tries again every minute): relaunch the failed PCs`,
      msg('event.disk.incomplete', { name: t.name }));
  }

  /**
   * Recomputes the action's state from its targets and records the change. When the action is
   * finished, no plan of it may stay armed (a PC booting later must not run a dead job).
   */
  settle(actionId: string): ActionRow {
    const action = this.store.action(actionId);
    if (!action) throw new Error(`settle: no action ${actionId}`);
    const targets = this.store.targets(actionId);
    const next = deriveActionState(targets);
    if (next === action.state) return action;
    transition(action.state, next, 'action');
    const now = this.nowIso();
    this.store.updateAction(actionId, { state: next, ...(isTerminal(next) ? { finishedAt: now } : {}) });
    this.event(actionId, null, next === 'failed' ? 'error' : 'info', `action: ${action.state} → ${next}`, msg('event.action', { from: action.state, to: next }));
    if (isTerminal(next)) this.disarmUnconsumed(targets);
    return { ...action, state: next };
  }

  /**
   * Without a sender, receivers would only wait for nothing: those that have not fetched their
   * job (plans disarmed) and those running that have not got everything (their next call is
   * answered 410 and stops udp-receiver). A receiver that said `done` finishes on its own.
   */
  failReceiversWithoutSender(actionId: string): void {
    for (const r of this.store.targets(actionId)) {
      if (r.role !== 'receiver' || isTerminal(r.state) || (r.state === 'running' && r.stage === 'done')) continue;
      if (r.state !== 'running') this.bootPlans.disarmJob(r.id);
      this.moveTarget(r, 'failed', reason('the sender failed', 'event.target.senderFailed'), {}, 'error');
    }
  }

  /** Receivers udp-sender dropped (no answer during the transfer), named by their address. */
  failDroppedReceivers(actionId: string, ips: readonly string[]): void {
    for (const r of this.store.targets(actionId)) {
      if (r.role !== 'receiver' || r.state !== 'running' || !ips.includes(r.ip)) continue;
      this.moveTarget(r, 'failed', reason('dropped by the sender: no answer during the transfer (powered off? cable?), the disk is partly written',
        'event.target.dropped'), {}, 'error');
    }
  }

  /** Disarms the plans of these targets that are still armed (never a consumed one: that MAC boots locally). */
  disarmUnconsumed(targets: readonly TargetRow[]): number {
    let n = 0;
    for (const t of targets) {
      if (this.guarded(t.id, () => {
        const plan = this.bootPlans.get(Mac.parse(t.mac));
        return plan?.kind === 'job' && plan.jobId === t.id && this.bootPlans.disarmJob(t.id);
      })) n++;
    }
    return n;
  }

  /** Disarms a job's plan when its target fails or is cancelled. */
  disarmOrLog(jobId: string): boolean {
    return this.guarded(jobId, () => this.bootPlans.disarmJob(jobId));
  }

  /**
   * A plan store that fails must not keep an action alive: the failure is still recorded, and a
   * plan that cannot be read boots its PC locally anyway (boot-file-source.ts). Logged as an error.
   */
  private guarded(jobId: string, disarm: () => boolean): boolean {
    try {
      return disarm();
    } catch (e) {
      this.logger.error('boot plan not disarmed', { jobId, error: String((e as Error)?.message ?? e) });
      return false;
    }
  }
}

/**
 * Whether a running target that fails without its agent's word (silence, cancel, the sender
 * failed or dropped it) may have left its disk partly written: when in doubt, yes. Read-only
 * roles never; a restore before its writing phase (it verifies every piece first) or a receiver
 * that got no byte, no; a job that said `done` wrote all.
 */
export function guessDisk(t: TargetRow): DiskOutcome {
  if (t.stage === 'done') return 'untouched';
  switch (t.role) {
    case 'restore':
      // The table is written right after the last piece is verified, before `restore` is posted.
      return t.stage === 'restore' || (t.stage === 'verify' && (t.percent ?? 0) >= 99) ? 'incomplete' : 'untouched';
    case 'receiver':
      return t.stage === 'transfer' || (t.bytes ?? 0) > 0 ? 'incomplete' : 'untouched';
    case 'deploy':
      // It writes the table before its first `recv-N`: a deploy that fetched its job may have.
      return 'incomplete';
    default:
      return 'untouched';
  }
}
