/**
 * The udp-sender command line of one deploy session, as an argument array (never a shell
 * string), and the process port the sender service runs it through: the default spawns it in its
 * own process group so it can be killed with everything it started; tests wrap it in
 * `ip netns exec`.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { InputError } from '../common/domain/errors';
import type { ModuleSettings } from '../settings/module-settings';
import { DeployRefusedError } from './image-verify';

export interface SenderSettings {
  /** Server interface facing the PCs (module setting deploy.interface). */
  readonly iface: string;
  /** udp-sender --max-bitrate (deploy.maxBitrate), e.g. 600m; empty: none. */
  readonly maxBitrate: string;
  /** udp-sender --retries-until-drop (deploy.retriesUntilDrop): a dead receiver is dropped after this many. */
  readonly retriesUntilDrop: number;
}

/** Reads the deploy.* settings (src/settings/deploy.ts); a bad value refuses the deploy with the key's name. */
export function senderSettingsFrom(settings: ModuleSettings): SenderSettings {
  try {
    return settings.deploy();
  } catch (e) {
    if (e instanceof InputError) throw new DeployRefusedError(`setting ${e.message}`);
    throw e;
  }
}

/**
 * One session: udp-sender reads the partition's compressed stream on stdin. The service has
 * already waited for the receivers to say they are ready, so `receivers` is the exact count and
 * `connectSeconds` is only the grace for their udp-receiver to connect.
 */
export function udpSenderArgs(s: SenderSettings, session: { port: number; receivers: number; connectSeconds: number }): string[] {
  const args = ['--interface', s.iface, '--portbase', String(session.port), '--nokbd',
    '--min-receivers', String(session.receivers), '--max-wait', String(session.connectSeconds),
    '--retries-until-drop', String(s.retriesUntilDrop)];
  if (s.maxBitrate) args.push('--max-bitrate', s.maxBitrate);
  return args;
}

export interface SenderProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stderr: Readable;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Signals the whole process group. */
  kill(signal: NodeJS.Signals): void;
}

export type SpawnPort = (command: string, args: readonly string[]) => SenderProcess;

export const spawnProcessGroup: SpawnPort = (command, args) => {
  const child = spawn(command, [...args], { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code) => resolve(code));
  });
  return {
    pid: child.pid,
    stdin: child.stdin!,
    stderr: child.stderr!,
    exited,
    kill(signal) {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    },
  };
};
