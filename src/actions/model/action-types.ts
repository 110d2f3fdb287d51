/**
 * The typed action model: what an admin asks for (clone, backup, …), on which machines, with which
 * parameters. Values of these types have been validated (src/actions/params/action-params.ts,
 * src/actions/params/action-request.ts); raw form input never reaches the service or the database.
 */
import type { Mac } from '../../common/domain/mac';
import type { Ipv4 } from '../../common/domain/ipv4';
import type { MessageRef } from '../../common/domain/errors';

export const ACTION_TYPES = ['clone', 'backup', 'restore', 'report', 'memtest', 'deploy'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

/** Types that may recur on a cron schedule: they never overwrite a disk. */
export const RECURRING_TYPES: readonly ActionType[] = ['backup', 'report'];

/** A clone has one sender and receivers; every other type gives each target the type's name. */
export type TargetRole = 'sender' | 'receiver' | Exclude<ActionType, 'clone'>;

export const STATES = ['scheduled', 'preparing', 'armed', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type ActionState = (typeof STATES)[number];
export const TERMINAL_STATES: readonly ActionState[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminal(state: ActionState): boolean {
  return TERMINAL_STATES.includes(state);
}

export const COMPRESSIONS = ['none', 'zstd', 'gzip', 'lzop'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export const AUTO_REBOOTS = ['never', 'success', 'always'] as const;
export type AutoReboot = (typeof AUTO_REBOOTS)[number];

export interface CloneParams {
  readonly type: 'clone';
  readonly disk: string;
  readonly compression: Compression;
  /** The sender starts once this many receivers joined (or at max_wait). 1..receivers. */
  readonly minReceivers: number;
  /** Minutes; udpcast takes seconds, converted in the job description. */
  readonly minWaitMinutes: number;
  readonly maxWaitMinutes: number;
  readonly startTimeoutMinutes: number;
  readonly autoReboot: AutoReboot;
}

export interface BackupParams {
  readonly type: 'backup';
  readonly disk: string;
  readonly compression: Compression;
  /** Image name [A-Za-z0-9_.-], default image_YYYYMMDD. */
  readonly image: string;
  readonly autoReboot: AutoReboot;
  /** Where the image goes (store-params.ts); absent (actions stored before targets existed) = server. */
  readonly store?: 'server' | 'partition' | 'smb';
  /** store=partition: `auto` (label CLONAGE) or a partition of `disk`. */
  readonly storagePart?: string;
}

export interface RestoreParams {
  readonly type: 'restore';
  readonly disk: string;
  /** Empty: the newest successful backup of the machine. */
  readonly image: string;
  /** Set: every target restores this machine's server image (chosen in the library), not its own. */
  readonly sourceMac?: string;
  readonly autoReboot: AutoReboot;
  readonly store?: 'server' | 'partition' | 'smb';
  readonly storagePart?: string;
}

export interface ReportParams {
  readonly type: 'report';
  readonly autoReboot: AutoReboot;
}

export interface MemtestParams {
  readonly type: 'memtest';
}

/**
 * Multicast deploy of a server image to many PCs, udp-sender running on the server
 * (docs/backup-restore.md "Multicast deploy from the server"). Each target's role is `deploy`.
 */
export interface DeployParams {
  readonly type: 'deploy';
  /** The machine whose image is deployed (MAC as stored in clonage_backups) and the image name. */
  readonly sourceMac: string;
  readonly image: string;
  readonly disk: string;
  /** As for a clone: the first session starts once this many receivers are ready (or at max_wait). */
  readonly minReceivers: number;
  readonly minWaitMinutes: number;
  readonly maxWaitMinutes: number;
  readonly startTimeoutMinutes: number;
  readonly autoReboot: AutoReboot;
  /**
   * Set by the server when it verified the image before arming: one udpcast session per
   * partition stream, in order, with the SHA-256 of the whole compressed stream the receivers
   * compare theirs with (udpcast has no end-to-end checksum).
   */
  readonly streams?: readonly DeployStream[];
}

export interface DeployStream {
  readonly number: number;
  readonly bytes: number;
  readonly sha256: string;
}

export type ActionParams = CloneParams | BackupParams | RestoreParams | ReportParams | MemtestParams | DeployParams;

/** A machine as an action targets it: name, MAC and IP come from the DHCP reservation. */
export interface TargetMachine {
  readonly name: string;
  readonly mac: Mac;
  readonly ip: Ipv4;
}

export interface PlannedTarget extends TargetMachine {
  readonly role: TargetRole;
}

/** When an action starts: now, at a given time, or recurring (a schedule creates actions). */
export type ActionTiming =
  | { readonly kind: 'now' }
  | { readonly kind: 'at'; readonly at: Date }
  | { readonly kind: 'cron'; readonly cron: string };

/** A fully validated request to create an action (or a schedule of actions). */
export interface ActionRequest {
  readonly type: ActionType;
  readonly params: ActionParams;
  readonly targets: readonly PlannedTarget[];
  /** Parcs the machines were picked from: who may later see, cancel or restart the action. */
  readonly parcs: readonly string[];
  readonly timing: ActionTiming;
  /** What the compatibility check found risky but not wrong (image-choice.ts), for step 4. */
  readonly warnings?: readonly { readonly text: string; readonly ref: MessageRef }[];
}

/** Rows as the store returns them (dates as ISO strings, as stored). */
export interface ActionRow {
  readonly id: string;
  readonly type: ActionType;
  readonly state: ActionState;
  readonly params: ActionParams;
  readonly parcs: readonly string[];
  readonly createdBy: string;
  readonly createdAt: string;
  readonly startAt: string;
  readonly startedAt: string | null;
  readonly armedAt: string | null;
  readonly finishedAt: string | null;
  readonly port: number | null;
  readonly scheduleId: string | null;
  readonly error: string | null;
}

export interface TargetRow {
  /** Also the job id the agent uses (clonage.job=). */
  readonly id: string;
  readonly actionId: string;
  readonly mac: string;
  readonly name: string;
  readonly ip: string;
  readonly role: TargetRole;
  readonly state: ActionState;
  readonly tokenHash: string;
  readonly stage: string | null;
  readonly percent: number | null;
  readonly bytes: number | null;
  readonly rateKbps: number | null;
  readonly exitCode: number | null;
  readonly message: string | null;
  readonly log: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
  /** SHA-256 of the session secret the job fetch answered (docs/agent-protocol.md); null before. */
  readonly sessionHash: string | null;
  /** The address the job was fetched from: every later call must come from it. */
  readonly fetchedFrom: string | null;
  /** When the SMB share's account was given to this job (answered once). */
  readonly smbCredentialsAt: string | null;
  /** Log bytes the agent sent so far (capped per job; the stored log is only its tail). */
  readonly logBytes: number;
  /** How the PC booted, as its agent's result said (null: no result yet, or an older agent). */
  readonly firmware: Firmware | null;
  /** The SecureBoot EFI variable as the agent read it (BIOS: off). */
  readonly secureBoot: SecureBootState | null;
}

export type Firmware = 'uefi' | 'bios';
export type SecureBootState = 'on' | 'off' | 'unknown';

export interface EventRow {
  readonly id: number;
  readonly actionId: string;
  readonly targetId: string | null;
  readonly at: string;
  readonly level: 'info' | 'warn' | 'error';
  /** English, as logs and APIs show it. */
  readonly message: string;
  /** The same event as a catalog message, for pages (absent for texts from agents and programs). */
  readonly ref?: MessageRef;
}
