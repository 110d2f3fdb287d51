/**
 * The narrow ports through which other features touch actions. Every write goes through
 * ActionCore (one transaction, then the bus): an event written here reaches an open action page
 * at once, and its catalog message shows it in the reader's language. The third port,
 * DeployCoordination (deploy-coordination.ts), is the server-side multicast sender's.
 *
 *  - ActionEvents: emitter preparation and post-clone (src/emitter/);
 *  - JobAuthority: the agent endpoints outside the action engine (the image store, src/images/),
 *    implemented by AgentJobs (src/agent/agent-jobs.ts).
 */
import type { MessageRef } from '../../common/domain/errors';
import type { ActionRow, EventRow, TargetRow } from '../model/action-types';
import type { ActionCore } from './action-core';
import type { AgentCaller } from '../../agent/agent-caller';

export type EventLevel = EventRow['level'];

export interface ActionEvents {
  /** Records an event on the action's page; `message` stays English (logs), `ref` is what readers see. */
  event(actionId: string, targetId: string | null, level: EventLevel, message: string, ref?: MessageRef): void;
  /** Same, unless this target already has this event (a report sent twice is recorded once); false then. */
  eventOnce(actionId: string, targetId: string, level: EventLevel, message: string, ref?: MessageRef): boolean;
  action(actionId: string): ActionRow | null;
  target(targetId: string): TargetRow | null;
  targets(actionId: string): TargetRow[];
  /** Called after each committed change of the action (cancel, timeout, state); returns the unsubscribe. */
  subscribe(actionId: string, listener: () => void): () => void;
}

export function actionEvents(core: ActionCore): ActionEvents {
  const write = (actionId: string, targetId: string | null, level: EventLevel, message: string, ref?: MessageRef) =>
    core.event(actionId, targetId, level, message, ref);
  return {
    event: (actionId, targetId, level, message, ref) => core.change(() => write(actionId, targetId, level, message, ref)),
    eventOnce: (actionId, targetId, level, message, ref) =>
      core.change(() => {
        if (core.store.hasEvent(actionId, targetId, message)) return false;
        write(actionId, targetId, level, message, ref);
        return true;
      }),
    action: (id) => core.store.action(id),
    target: (id) => core.store.target(id),
    targets: (actionId) => core.store.targets(actionId),
    subscribe: (actionId, listener) => core.bus.subscribe(actionId, () => listener()),
  };
}

export interface AuthorizedJob {
  readonly target: TargetRow;
  readonly action: ActionRow;
}

/** What agent endpoints outside the engine need: the job checks of docs/agent-protocol.md. */
export interface JobAuthority {
  /** Session, address and state checks (401/403/404/409/410) for a running target; counts as news from the agent. */
  authorize(jobId: string, caller: AgentCaller, call?: string): AuthorizedJob;
  /** The same checks, then `give` once per job (a second ask: 409 and an event). */
  once<T>(jobId: string, caller: AgentCaller, give: (job: AuthorizedJob) => T): T;
  /** An event about a job, on its action's page. */
  note(jobId: string, level: EventLevel, message: string, ref?: MessageRef): void;
  /** Whether the job runs now (leftover uploads of other jobs are swept). */
  isRunning(jobId: string): boolean;
}
