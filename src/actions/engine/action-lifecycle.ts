/**
 * Driving actions through time: starting due actions (emitter preparation, arming boot plans,
 * waking machines) and failing the stages that last too long. Everything is decided from the
 * database and the `now` passed in, so a restarted server (recover) picks up where it was.
 */
import { jobPlan } from '../../boot/boot-plan';
import { Ipv4 } from '../../common/domain/ipv4';
import { Mac } from '../../common/domain/mac';
import { type ActionCore, type Reason, reason } from './action-core';
import { msg } from '../../i18n/module-messages';
import type { ActionRow, TargetRow } from '../model/action-types';
import { isTerminal } from '../model/action-types';
import type { Deployer } from './deploy-coordination';
import { hashToken, newToken } from '../../agent/job-identity';
import type { JobBlocker } from '../../readiness/readiness';

export interface WakeTarget {
  readonly name: string;
  readonly mac: Mac;
  readonly ip: Ipv4;
}

/** Wake-on-LAN / RPC reboot: src/wake/action-waker.ts (the composition root passes it in). */
export interface Waker {
  /** Resolves with the method used when the wake was sent (a test double may say nothing); throws why it was not. */
  wake(machine: WakeTarget): Promise<{ readonly method: string } | void>;
}

/** Prepares a domain PC to be cloned (leave the domain, sysprep) before its plan is armed (SE3 §3). */
export interface EmitterPreparer {
  /**
   * Whether this clone's emitter needs preparing at all (a domain PC). Asked before the action
   * leaves `scheduled`: a clone that needs nothing goes straight to `armed`, with no empty
   * `preparing` stage and its events.
   */
  needsPreparation(action: ActionRow): boolean;
  prepare(action: ActionRow, emitter: TargetRow): Promise<void>;
}

export const noopWaker: Waker = { wake: async () => undefined };

export interface StageTimeouts {
  /** Emitter preparation (SE3 waited 40 minutes for the emitter's acknowledgement). */
  readonly preparingMinutes: number;
  /** From arming to the agent fetching its job: the PC must be woken and PXE-boot. */
  readonly armedMinutes: number;
  /**
   * A running agent silent (no news: see AgentJobs.progress) for this long is considered dead,
   * while it may legitimately wait: udpcast waiting for the others, a deploy session, the
   * server's commit (for a clone or deploy at least start_timeout + 10).
   */
  readonly silenceMinutes: number;
  /** The same where the agent posts every few seconds (transfer, backup, restore, verify). */
  readonly activeSilenceMinutes: number;
}

const MINUTE = 60_000;
const plus = (iso: string, minutes: number) => Date.parse(iso) + minutes * MINUTE;

export class ActionLifecycle {
  /** Preparations running in this process; after a restart the set is empty and tick() relaunches them. */
  private readonly preparing = new Map<string, Promise<void>>();
  /** When this process resumed the actions: time the server was away is no agent's silence. */
  private upSince = 0;

  constructor(
    private readonly core: ActionCore,
    private readonly deps: {
      readonly waker: Waker;
      readonly emitterPreparer?: EmitterPreparer;
      /** The server-side multicast sender of deploy actions; without one a deploy fails at start. */
      readonly deployer?: Deployer;
      readonly toolkit: () => string;
      readonly timeouts: () => StageTimeouts;
      /** Why no job can run (no job toolkit, no loader): the action fails before anyone is woken. */
      readonly blocker?: () => Promise<JobBlocker | null>;
    },
  ) {}

  /** Starts every scheduled action whose time has come. */
  async startDue(now: Date): Promise<string[]> {
    const started: string[] = [];
    for (const action of this.core.store.dueScheduled(now.toISOString())) {
      const deploy = action.type === 'deploy';
      if ((action.type === 'clone' && this.deps.emitterPreparer?.needsPreparation(action)) || deploy) {
        this.core.change(() => {
          const a = this.core.store.action(action.id);
          if (a?.state !== 'scheduled') return;
          for (const t of this.core.store.targets(a.id)) {
            this.core.moveTarget(t, 'preparing', deploy ? reason('the server verifies the source image', 'event.target.verifyingSource')
              : t.role === 'sender' ? reason('preparing the emitter', 'event.target.preparingEmitter') : reason('waiting for the emitter', 'event.target.waitingEmitter'));
          }
          this.core.store.updateAction(a.id, { startedAt: this.core.nowIso() });
          this.core.settle(a.id);
        });
        this.launchPreparation(action.id);
      } else {
        await this.armAndWake(action.id);
      }
      started.push(action.id);
    }
    return started;
  }

  /** Relaunches preparations lost by a restart (preparers must be idempotent). */
  resumePreparations(): void {
    for (const a of this.core.store.actionsIn(['preparing'])) {
      if (!this.preparing.has(a.id) && (this.deps.emitterPreparer || a.type === 'deploy')) this.launchPreparation(a.id);
    }
  }

  /** Resolves when the preparations started in this process are over (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.preparing.values()]);
  }

  private launchPreparation(actionId: string): void {
    const action = this.core.store.action(actionId)!;
    const run = (action.type === 'deploy' ? this.prepareDeploy(action) : this.prepareEmitter(action))
      .then(
        () => this.armAndWake(actionId),
        (e: unknown) => {
          const why = String((e as Error)?.message ?? e);
          this.fail(actionId, action.type === 'deploy' ? reason(`source image refused: ${why}`, 'event.target.sourceRefused', { why }) : `emitter preparation failed: ${why}`);
        },
      )
      .catch((e: unknown) => this.core.logger.error(`${action.type === 'deploy' ? 'source verification' : 'emitter preparation'} follow-up failed`, { actionId, error: String(e) }))
      .finally(() => this.preparing.delete(actionId));
    this.preparing.set(actionId, run);
  }

  private prepareEmitter(action: ActionRow): Promise<void> {
    const emitter = this.core.store.targets(action.id).find((t) => t.role === 'sender')!;
    return this.deps.emitterPreparer!.prepare(action, emitter);
  }

  /**
   * A deploy's preparation: the server re-reads every piece of the source image before any PC is
   * armed; the per-partition stream digests go into the action's params (the receivers compare
   * the stream they got with them, and they survive a restart).
   */
  private async prepareDeploy(action: ActionRow): Promise<void> {
    if (!this.deps.deployer) throw new Error('no multicast sender is configured on this server');
    const streams = await this.deps.deployer.verify(action);
    this.core.change(() => {
      const a = this.core.store.action(action.id);
      if (a?.params.type !== 'deploy') return;
      this.core.store.updateAction(a.id, { params: { ...a.params, streams } });
      const bytes = streams.reduce((n, s) => n + s.bytes, 0);
      this.core.event(a.id, null, 'info', `source image ${a.params.image} verified: ${streams.length} partition streams, ${bytes} bytes`,
        msg('event.deploy.verified', { image: a.params.image, streams: streams.length, bytes }));
    });
  }

  /**
   * Arms one job plan per target (fresh token, only its hash kept) in one transaction, then wakes
   * the machines. Arming first: a PC woken before its plan exists would boot the menu.
   */
  async armAndWake(actionId: string): Promise<void> {
    const blocked = await this.deps.blocker?.().catch(() => null);
    if (blocked) {
      this.fail(actionId, reason(`not woken: ${blocked.text}`, `event.target.${blocked.code}`, { toolkit: blocked.name }));
      return;
    }
    let armed: TargetRow[] = [];
    try {
      armed = this.core.change(() => {
        const action = this.core.store.action(actionId);
        if (!action || (action.state !== 'scheduled' && action.state !== 'preparing')) return [];
        const toolkit = this.deps.toolkit();
        const targets = this.core.store.targets(actionId).filter((t) => t.state === 'scheduled' || t.state === 'preparing');
        for (const t of targets) {
          const token = newToken();
          this.core.bootPlans.arm(Mac.parse(t.mac), jobPlan({ jobId: t.id, token, toolkit, label: t.role }));
          this.core.moveTarget(t, 'armed', reason(`boot plan armed (toolkit ${toolkit})`, 'event.target.armed', { toolkit }), { tokenHash: hashToken(token) });
        }
        const now = this.core.nowIso();
        this.core.store.updateAction(actionId, { armedAt: now, startedAt: action.startedAt ?? now });
        this.core.settle(actionId);
        return targets;
      });
    } catch (e) {
      // Nothing was armed (the transaction rolled back): say why on the action.
      this.fail(actionId, `could not arm the boot plans: ${(e as Error).message}`);
      return;
    }
    // Sender first: it waits for the receivers, which are still booting.
    if (armed.length && this.core.store.action(actionId)?.type === 'deploy') this.deps.deployer?.start(actionId);
    await Promise.all(armed.map((t) => this.wake(t)));
  }

  private async wake(t: TargetRow): Promise<void> {
    try {
      const sent = await this.deps.waker.wake({ name: t.name, mac: Mac.parse(t.mac), ip: Ipv4.parse(t.ip) });
      // the admin sees the wake on the action, not only in the server's log (issue 16 item 8)
      if (sent) this.core.event(t.actionId, t.id, 'info', `${t.name}: woken (${sent.method})`, msg('event.wake.sent', { name: t.name, method: sent.method }));
    } catch (e) {
      // Not fatal: the PC may be on already, or someone boots it by hand.
      const error = (e as Error).message;
      this.core.event(t.actionId, t.id, 'warn', `${t.name}: wake failed (${error}); start it by hand`, msg('event.wake.failed', { name: t.name, error }));
    }
  }

  /** Fails every target that is not running (their plans disarmed) and records why on the action. */
  fail(actionId: string, why: string | Reason): void {
    this.core.change(() => {
      const action = this.core.store.action(actionId);
      if (!action || isTerminal(action.state)) return;
      for (const t of this.core.store.targets(actionId)) {
        if (isTerminal(t.state) || t.state === 'running') continue;
        this.core.disarmOrLog(t.id);
        this.core.moveTarget(t, 'failed', why, {}, 'error');
      }
      this.core.store.updateAction(actionId, { error: (typeof why === 'string' ? why : why.text).slice(0, 500) });
      this.core.settle(actionId);
    });
  }

  /**
   * At start: running agents may be riding out the restart (they retry their calls for minutes),
   * so their silence counts from now, not from their last call to the previous process.
   */
  resumedAt(now: Date): void {
    this.upSince = now.getTime();
  }

  /** Fails stages that lasted too long. Returns the ids of the actions it changed. */
  applyTimeouts(now: Date): string[] {
    const limits = this.deps.timeouts();
    const changed = new Set<string>();
    const t = now.getTime();
    for (const a of this.core.store.actionsIn(['preparing'])) {
      if (a.startedAt && plus(a.startedAt, limits.preparingMinutes) < t) {
        const stage = a.type === 'deploy' ? 'verification of the source image' : 'emitter preparation';
        this.fail(a.id, `${stage} took more than ${limits.preparingMinutes} minutes`);
        changed.add(a.id);
      }
    }
    for (const a of this.core.store.actionsIn(['armed', 'running'])) {
      this.core.change(() => {
        for (const { id } of this.core.store.targets(a.id)) {
          const target = this.core.store.target(id)!; // fresh: a failed sender fails its waiting receivers
          if (target.state === 'armed' && a.armedAt && plus(a.armedAt, limits.armedMinutes) < t) {
            this.core.bootPlans.disarmJob(target.id);
            this.core.moveTarget(target, 'failed', reason(`did not fetch its job within ${limits.armedMinutes} minutes (powered off? not booting from the network?)`, 'event.target.notFetched', { minutes: limits.armedMinutes }), {}, 'error');
            changed.add(a.id);
          } else if (target.state === 'running') {
            const silence = silenceLimit(a, target, limits);
            if (Math.max(Date.parse(target.updatedAt), this.upSince) + silence * MINUTE >= t) continue;
            const last = lastKnown(target);
            this.core.moveTarget(target, 'failed', reason(`no news from the agent for ${silence} minutes; last known: ${last}`, 'event.target.silentLast', { minutes: silence, last }), {}, 'error');
            if (target.role === 'sender') this.core.failReceiversWithoutSender(a.id);
            changed.add(a.id);
          }
        }
        if (changed.has(a.id)) this.core.settle(a.id);
      });
    }
    return [...changed];
  }
}

/** Stages in which an agent may stay silent for long: it waits for others, or for the server. */
const WAITING_STAGE = /^(waiting|commit|recv-[0-9]+)$/;

/**
 * The agent posts every few seconds while it moves data, so a few minutes of silence there
 * mean it is gone; before its first stage and while it waits, the long limit applies (a clone or
 * deploy receiver may wait for the sender: at least start_timeout + 10).
 */
function silenceLimit(a: ActionRow, target: TargetRow, limits: StageTimeouts): number {
  if (target.stage && !WAITING_STAGE.test(target.stage)) return Math.min(limits.activeSilenceMinutes, limits.silenceMinutes);
  const base = limits.silenceMinutes;
  return a.params.type === 'clone' || a.params.type === 'deploy' ? Math.max(base, a.params.startTimeoutMinutes + 10) : base;
}

/** What the page last knew of a target: stage, percent, bytes and the last line of its log. */
export function lastKnown(t: TargetRow): string {
  const parts = [`stage ${t.stage ?? 'none'}`];
  if (t.percent !== null) parts.push(`${t.percent}%`);
  if (t.bytes !== null) parts.push(`${t.bytes} bytes`);
  const line = t.log.trim().split('\n').pop()?.trim();
  if (line) parts.push(`log: ${line.slice(0, 200)}`);
  return parts.join(', ');
}
