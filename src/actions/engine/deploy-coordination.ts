/**
 * What the server-side multicast sender (src/deploy/) may see and change of a deploy action:
 * its receivers' states and stages, events, and failing receivers it leaves out. Every change
 * goes through ActionCore (state machine, events, one transaction), like the agent calls.
 */
import type { ActionCore, Reason } from './action-core';
import type { MessageRef } from '../../common/domain/errors';
import { type ActionRow, type DeployStream, isTerminal, type TargetRow } from '../model/action-types';

/** The server side of a deploy (src/deploy/deploy-sender.ts implements it). */
export interface Deployer {
  /** Re-reads every piece of the source image (size, SHA-256): the streams, or a rejection saying why. */
  verify(action: ActionRow): Promise<readonly DeployStream[]>;
  /** Drives the udpcast sessions of an armed deploy, in the background. */
  start(actionId: string): void;
  /** Kills the action's udp-sender, if one runs (cancel, failure, timeout). */
  stop(actionId: string): Promise<void>;
  /** Module stop: every sender killed. */
  stopAll(): Promise<void>;
  /** Whether this process drives the action (false after a restart). */
  running(actionId: string): boolean;
}

export class DeployCoordination {
  constructor(private readonly core: ActionCore) {}

  action(actionId: string): ActionRow | null {
    return this.core.store.action(actionId);
  }

  receivers(actionId: string): TargetRow[] {
    return this.core.store.targets(actionId).filter((t) => t.role === 'deploy');
  }

  /** `ref`: the event's catalog message (`event.deploy.*`), shown translated; `message` stays English (logs, APIs). */
  event(actionId: string, level: 'info' | 'warn' | 'error', message: string, ref?: MessageRef): void {
    this.core.change(() => this.core.event(actionId, null, level, message, ref));
  }

  /** Receivers that missed a session: failed (plans disarmed); a running agent learns it by a 410. */
  leaveOut(actionId: string, targetIds: readonly string[], why: string | Reason): void {
    this.core.change(() => {
      for (const id of targetIds) {
        const t = this.core.store.target(id);
        if (!t || t.actionId !== actionId || isTerminal(t.state)) continue;
        this.core.bootPlans.disarmJob(t.id);
        if (t.state === 'running' || t.state === 'armed') this.core.moveTarget(t, 'failed', why, {}, 'error');
        else this.core.moveTarget(t, 'cancelled', why);
      }
      this.core.settle(actionId);
    });
  }

  /** The sender cannot go on: every unfinished receiver fails, running ones included (their disk is incomplete). */
  failAll(actionId: string, why: string | Reason): void {
    this.core.change(() => {
      const action = this.core.store.action(actionId);
      if (!action || isTerminal(action.state)) return;
      this.leaveOut(actionId, this.receivers(actionId).map((t) => t.id), why);
      this.core.store.updateAction(actionId, { error: (typeof why === 'string' ? why : why.text).slice(0, 500) });
      this.core.settle(actionId);
    });
  }
}
