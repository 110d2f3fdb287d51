/**
 * The udp-sender command line of one deploy session, as an argument array (never a shell
 * string), and the process port the sender service runs it through: the default spawns it in its
 * own process group so it can be killed with everything it started; tests wrap it in
 * `ip netns exec`.
 */
import { MAX_BITRATE_PATTERN } from '../actions/params/udpcast-tuning';
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ModuleMessageKey } from '../i18n/module-messages';
import { DeployRefusedError } from './image-verify';

export interface SenderSettings {
  /** Server interface facing the PCs (module setting deploy.interface). */
  readonly iface: string;
  /** udp-sender --max-bitrate (deploy.maxBitrate), e.g. 600m; empty: none. */
  readonly maxBitrate: string;
  /** udp-sender --retries-until-drop (deploy.retriesUntilDrop): a dead receiver is dropped after this many. */
  readonly retriesUntilDrop: number;
}

const IFACE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

/** Per-setting checks, shared with the Configuration page: the error text, or null when valid. */
export const DEPLOY_SETTING_CHECKS: Readonly<Record<'deploy.interface' | 'deploy.maxBitrate' | 'deploy.retriesUntilDrop', (v: unknown) => string | null>> = {
  'deploy.interface': (v) => (typeof v === 'string' && IFACE.test(v) && v !== '.' && v !== '..' ? null : 'not a valid network interface name'),
  'deploy.maxBitrate': (v) => (v === '' || (typeof v === 'string' && MAX_BITRATE_PATTERN.test(v)) ? null : 'expected e.g. 600m or empty'),
  'deploy.retriesUntilDrop': (v) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000 ? null : 'a whole number between 1 and 1000'),
};

/** The catalog message of each check's failure, for the Configuration page (the checks' English texts stay for the sender's refusal). */
export const DEPLOY_SETTING_MESSAGES = {
  'deploy.interface': 'config.error.deployInterface',
  'deploy.maxBitrate': 'config.error.deployMaxBitrate',
  'deploy.retriesUntilDrop': 'config.error.deployRetries',
} as const satisfies Readonly<Record<keyof typeof DEPLOY_SETTING_CHECKS, ModuleMessageKey>>;

/** Reads and validates the deploy.* settings; a bad value refuses the deploy with the reason. */
export function senderSettingsFrom(settings: { getOr<T>(key: string, fallback: T): T }): SenderSettings {
  const values = {
    'deploy.interface': settings.getOr<unknown>('deploy.interface', 'br0'),
    'deploy.maxBitrate': settings.getOr<unknown>('deploy.maxBitrate', ''),
    'deploy.retriesUntilDrop': settings.getOr<unknown>('deploy.retriesUntilDrop', 30),
  };
  for (const [key, check] of Object.entries(DEPLOY_SETTING_CHECKS)) {
    const why = check(values[key as keyof typeof values]);
    if (why) throw new DeployRefusedError(`setting ${key} is ${why.startsWith('not') ? why : `invalid: ${why}`}`);
  }
  return { iface: values['deploy.interface'] as string, maxBitrate: values['deploy.maxBitrate'] as string, retriesUntilDrop: values['deploy.retriesUntilDrop'] as number };
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
