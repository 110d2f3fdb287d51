/**
 * The server side of a multicast deploy: verifies the source image before anything is armed,
 * then runs one udpcast session per partition stream, in order, on the action's port. The
 * receivers (pxe/agent/agent-deploy.sh) say "ready for partition N" with a progress stage
 * `recv-N` just before they start udp-receiver; a session starts when every receiver still in
 * the action is ready (for the first one: the clone's min_receivers / min_wait / max_wait rules),
 * and udp-sender is told exactly that many receivers. Receivers that miss a session are failed
 * (their next agent call gets 410 and they stop). Each session's end is also the framing of the
 * stream: udp-receiver ends at the session's end, so the agent never has to cut a pipe.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ActionRow, DeployParams, DeployStream } from '../actions/model/action-types';
import { isTerminal } from '../actions/model/action-types';
import type { Deployer, DeployCoordination } from '../actions/engine/deploy-coordination';
import { reason } from '../actions/engine/action-core';
import type { Clock, Logger } from '../host/contract';
import type { ModuleSettings } from '../settings/module-settings';
import { msg } from '../i18n/module-messages';
import type { ImageStore } from '../images/image-store';
import { type SendableStream, sendableStreams, verifyImage } from './image-verify';
import { type SenderProcess, type SenderSettings, senderSettingsFrom, type SpawnPort, spawnProcessGroup, udpSenderArgs } from './udp-sender-command';

export interface DeploySenderDeps {
  /** What the sender may see and change of its deploy actions (built on ActionCore). */
  readonly coordination: DeployCoordination;
  readonly store: ImageStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: ModuleSettings;
  readonly spawn?: SpawnPort;
  /** udp-sender's path or name (tests: a wrapper). */
  readonly command?: string;
  /** Waits between looks at the receivers (tests advance a fake clock here). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly pollMs?: number;
  /** Later sessions: how long the receivers still in the action have to be ready again. */
  readonly sessionWaitSeconds?: number;
  /** udp-sender --max-wait: grace for ready receivers' udp-receiver to connect. */
  readonly connectSeconds?: number;
}

interface Running {
  stopped: boolean;
  proc: SenderProcess | null;
  done: Promise<void>;
}

const MINUTE = 60_000;
/** How often a running session reports its progress as an event. */
const PROGRESS_MS = 30_000;
const stageOf = (n: number) => `recv-${n}`;

export class DeploySender implements Deployer {
  private readonly runs = new Map<string, Running>();
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: DeploySenderDeps) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async verify(action: ActionRow): Promise<readonly DeployStream[]> {
    const p = deployParams(action);
    senderSettingsFrom(this.deps.settings); // a bad setting refuses now, not after the PCs booted
    const { streams } = await verifyImage(this.deps.store, p.sourceMac, p.image);
    return streams.map(({ number, bytes, sha256 }) => ({ number, bytes, sha256 }));
  }

  running(actionId: string): boolean {
    return this.runs.has(actionId);
  }

  start(actionId: string): void {
    if (this.runs.has(actionId)) return;
    const run: Running = { stopped: false, proc: null, done: Promise.resolve() };
    run.done = this.drive(actionId, run)
      .catch((e: unknown) => {
        this.deps.logger.error('deploy sender failed', { actionId, error: String((e as Error)?.stack ?? e) });
        // Never an unhandled rejection: a failure to record the failure is only logged.
        try {
          this.deps.coordination.failAll(actionId, `multicast sender failed: ${(e as Error)?.message ?? e}`);
        } catch (e2) {
          this.deps.logger.error('deploy failure not recorded', { actionId, error: String(e2) });
        }
      })
      .finally(() => this.runs.delete(actionId));
    this.runs.set(actionId, run);
  }

  async stop(actionId: string): Promise<void> {
    const run = this.runs.get(actionId);
    if (!run) return;
    run.stopped = true;
    run.proc?.kill('SIGKILL'); // udp-sender ignores SIGTERM while it waits for receivers
    await run.done;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.runs.keys()].map((id) => this.stop(id)));
  }

  private over(actionId: string, run: Running): boolean {
    const a = this.deps.coordination.action(actionId);
    return run.stopped || !a || isTerminal(a.state);
  }

  private async drive(actionId: string, run: Running): Promise<void> {
    const coord = this.deps.coordination;
    const action = coord.action(actionId)!;
    const p = deployParams(action);
    const settings = senderSettingsFrom(this.deps.settings);
    // Hashed again while sent: a piece changed since the verification fails the action.
    const streams = await sendableStreams(this.deps.store, p.sourceMac, p.image, p.streams ?? []);
    const t0 = this.deps.clock.now().getTime();
    for (let i = 0; i < streams.length; i++) {
      const ready = await this.waitReady(actionId, run, p, streams[i].number, i === 0 ? t0 : null);
      if (!ready) return;
      await this.session(actionId, run, settings, action.port!, streams[i], ready.length, `${i + 1}/${streams.length}`);
      if (this.over(actionId, run)) return;
    }
    coord.event(actionId, 'info', `multicast: every partition sent (${streams.length} sessions)`, msg('event.deploy.allSent', { sessions: streams.length }));
  }

  /**
   * Ids of the receivers ready for partition `n`, once the session may start; null when the
   * action is over. Receivers still waiting then are left out (failed): they would wait for nothing.
   */
  private async waitReady(actionId: string, run: Running, p: DeployParams, n: number, firstSince: number | null): Promise<string[] | null> {
    const coord = this.deps.coordination;
    const since = firstSince ?? this.deps.clock.now().getTime();
    const sessionWait = (this.deps.sessionWaitSeconds ?? 120) * 1000;
    for (;;) {
      if (this.over(actionId, run)) return null;
      const live = coord.receivers(actionId).filter((t) => (firstSince !== null && t.state === 'armed') || t.state === 'running');
      const ready = live.filter((t) => t.state === 'running' && t.stage === stageOf(n));
      const waited = this.deps.clock.now().getTime() - since;
      if (live.length === 0) {
        coord.event(actionId, 'warn', `multicast: no receiver left for partition ${n}`, msg('event.deploy.noReceiver', { n }));
        return null;
      }
      let go: boolean;
      let giveUp: boolean;
      if (firstSince !== null) {
        go = (ready.length === live.length || ready.length >= p.minReceivers) && waited >= p.minWaitMinutes * MINUTE;
        go ||= ready.length > 0 && waited >= p.maxWaitMinutes * MINUTE;
        giveUp = waited >= p.startTimeoutMinutes * MINUTE;
      } else {
        go = ready.length === live.length || (ready.length > 0 && waited >= sessionWait);
        giveUp = waited >= 2 * sessionWait;
      }
      if (go) {
        const late = live.filter((t) => !ready.includes(t));
        if (late.length) coord.leaveOut(actionId, late.map((t) => t.id), reason(`not ready when the multicast of partition ${n} started`, 'event.target.notReady', { n }));
        return ready.map((t) => t.id);
      }
      if (giveUp) {
        coord.failAll(actionId, reason(`no receiver was ready for partition ${n} in time`, 'event.target.noneReady', { n }));
        return null;
      }
      await this.sleep(this.deps.pollMs ?? 1000);
    }
  }

  /** One udp-sender run fed with the partition's pieces; fails the action on any error. */
  private async session(actionId: string, run: Running, settings: SenderSettings, port: number, s: SendableStream, receivers: number, label: string): Promise<void> {
    const coord = this.deps.coordination;
    const args = udpSenderArgs(settings, { port, receivers, connectSeconds: this.deps.connectSeconds ?? 60 });
    coord.event(actionId, 'info', `multicast session ${label}: partition ${s.number} (${s.name}), ${s.bytes} bytes to ${receivers} receivers`,
      msg('event.deploy.session', { label, n: s.number, part: s.name, bytes: s.bytes, receivers }));
    const started = this.deps.clock.now().getTime();
    const proc = (this.deps.spawn ?? spawnProcessGroup)(this.deps.command ?? 'udp-sender', args);
    run.proc = proc;
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    proc.stdin.on('error', () => undefined); // EPIPE when udp-sender dies: its exit code says why
    // Every poll: stop when the action is over; every PROGRESS_MS an event with the sender's progress
    // (bytes udp-sender has read: it sends them at the slowest receiver's pace).
    const sent = { bytes: 0 };
    let reported = started;
    const watch = setInterval(() => {
      if (this.over(actionId, run)) return proc.kill('SIGKILL');
      const now = this.deps.clock.now().getTime();
      if (now - reported < PROGRESS_MS || sent.bytes === 0) return;
      reported = now;
      const kbps = Math.round((sent.bytes * 8) / Math.max(1, now - started));
      const percent = Math.floor((sent.bytes * 100) / Math.max(1, s.bytes));
      coord.event(actionId, 'info', `multicast partition ${s.number}: ${percent} % (${sent.bytes} bytes, ${kbps} kbit/s)`,
        msg('event.deploy.progress', { n: s.number, percent, bytes: sent.bytes, kbps }));
    }, this.deps.pollMs ?? 1000);
    let fed: string | null = null;
    try {
      fed = await this.feed(proc, s, sent);
      const code = await proc.exited;
      run.proc = null;
      if (this.over(actionId, run)) return;
      if (code !== 0) {
        const why = stderr.replace(/\r/g, '\n').split('\n').filter((l) => l.trim() && !l.startsWith('bytes=')).slice(-2).join(' ');
        return coord.failAll(actionId, `udp-sender exited with ${code ?? 'a signal'} on partition ${s.number}${why ? `: ${why}` : ''}`);
      }
      if (fed === null) return coord.failAll(actionId, `partition ${s.number}: udp-sender stopped reading its input`);
      if (fed !== s.sha256) return coord.failAll(actionId, `partition ${s.number}: the pieces changed on the server while they were sent`);
      const seconds = Math.max(0.001, (this.deps.clock.now().getTime() - started) / 1000);
      const kbps = Math.round((s.bytes * 8) / seconds / 1000);
      coord.event(actionId, 'info', `multicast session ${label} done: ${s.bytes} bytes in ${seconds.toFixed(1)} s (${kbps} kbit/s)`,
        msg('event.deploy.sessionDone', { label, bytes: s.bytes, seconds: seconds.toFixed(1), kbps }));
    } finally {
      clearInterval(watch);
      proc.kill('SIGKILL');
    }
  }

  /** Writes the pieces to udp-sender's stdin (pipeline: back-pressure, end); the SHA-256 of what was written. */
  private async feed(proc: SenderProcess, s: SendableStream, sent: { bytes: number }): Promise<string | null> {
    const hash = createHash('sha256');
    async function* pieces() {
      for (const path of s.paths) {
        for await (const piece of createReadStream(path)) {
          hash.update(piece as Buffer);
          sent.bytes += (piece as Buffer).length;
          yield piece as Buffer;
        }
      }
    }
    try {
      await pipeline(pieces, proc.stdin);
      return hash.digest('hex');
    } catch {
      return null; // udp-sender died or was killed: its exit code says why
    }
  }
}

function deployParams(action: ActionRow): DeployParams {
  if (action.params.type !== 'deploy') throw new Error(`action ${action.id} is not a deploy`);
  return action.params;
}
