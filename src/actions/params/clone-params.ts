/**
 * The clone parameters and the scalar field parsers every action type shares (disk, compression,
 * bounds, image names), with one error per field. SE3 silently replaced bad values (compression → lzop, port → 9002) and checked
 * the wait times in JavaScript only; here every value is refused with a message naming its field,
 * and everything that reaches a job description matches a closed character set.
 */
import { InputError } from '../../common/domain/errors';
import {
  type ActionParams,
  type ActionType,
  AUTO_REBOOTS,
  type AutoReboot,
  COMPRESSIONS,
  type Compression,
  type CloneParams,
} from '../model/action-types';
import { FieldErrorCollector } from './field-errors';
import { MAX_TARGETS } from './limits';
import type { Store } from './store-params';
import { msg } from '../../i18n/module-messages';

/**
 * What happens to the emitter before the clone (SE3's `type_os`, se3-reference §1, §3):
 * `windows-domain` — a domain PC: it leaves the domain and acknowledges before any boot plan is
 * armed, and the clones rejoin with their own names afterwards (src/emitter/);
 * `none` — Linux or workgroup PC: no preparation.
 */
export const CLONE_DOMAINS = ['none', 'windows-domain'] as const;
export type CloneDomain = (typeof CLONE_DOMAINS)[number];

/**
 * Clone parameters with the domain choice. `domain` is stored only for `windows-domain`: absent
 * means `none`, which is also how clones stored before the field existed read. Read it with
 * cloneDomainOf(), never directly.
 */
export type CloneParamsWithDomain = CloneParams & { readonly domain?: 'windows-domain' };

export function cloneDomainOf(params: ActionParams): CloneDomain {
  return params.type === 'clone' && (params as CloneParamsWithDomain).domain === 'windows-domain' ? 'windows-domain' : 'none';
}

export function parseCloneDomain(raw: Raw, fallback: CloneDomain): CloneDomain {
  const v = scalar(raw, 'domain') ?? fallback;
  if (!(CLONE_DOMAINS as readonly string[]).includes(v)) {
    throw new InputError(`domain: expected one of ${CLONE_DOMAINS.join(', ')}`, 'domain', msg('error.choice', { choices: CLONE_DOMAINS.join(', ') }));
  }
  return v as CloneDomain;
}

/** Defaults of the clone form, from the module settings (module.json clone.* keys). */
export interface ParamDefaults {
  readonly domain: CloneDomain;
  readonly compression: Compression;
  readonly disk: string;
  readonly minWaitMinutes: number;
  readonly maxWaitMinutes: number;
  readonly startTimeoutMinutes: number;
  readonly autoReboot: AutoReboot;
  /** Backup/restore store (setting backup.target). */
  readonly store: Store;
  /** False when no SMB share is configured: store=smb is then refused. Absent: not checked. */
  readonly smbReady?: boolean;
}

/** The disk value that lets each PC's agent choose its first fixed disk (the job's `disk=` is empty). */
export const AUTO_DISK = '';

export const BUILTIN_DEFAULTS: ParamDefaults = {
  domain: 'none',
  compression: 'zstd',
  disk: AUTO_DISK,
  minWaitMinutes: 10,
  maxWaitMinutes: 15,
  startTimeoutMinutes: 20,
  autoReboot: 'always',
  store: 'server',
};

/** Wait times are bounded: a day at most, which no real clone needs and no udpcast argument overflows. */
export const MAX_WAIT_MINUTES = 24 * 60;
export const MAX_RECEIVERS = MAX_TARGETS;

/** Whole disks only: SCSI/SATA, IDE, virtio, NVMe namespaces, eMMC/SD. Partitions are not cloned alone. */
export const DISK_PATTERN = /^(?:(?:sd|hd|vd)[a-z]|nvme\d{1,2}n\d{1,2}|mmcblk\d{1,2})$/;
const IMAGE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export type Raw = Readonly<Record<string, unknown>>;

/** A single form value: absent or blank → undefined; repeated fields are refused. */
function scalar(raw: Raw, field: string): string | undefined {
  const v = raw[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw new InputError(`${field}: a single value is expected`, field, msg('error.single'));
  const s = v.trim();
  return s === '' ? undefined : s;
}

/**
 * A whole disk, or '' for "the PC's first fixed disk", which the agent detects (NVMe, SATA, virtio,
 * eMMC; never USB or removable: pxe/agent/agent-disks.sh). A field sent blank asks for that; a
 * field not sent at all takes the setting's default (itself '' unless the admin named a disk).
 */
export function parseDisk(raw: Raw, fallback: string): string {
  if (typeof raw.disk === 'string' && raw.disk.trim() === '') return AUTO_DISK;
  const v = scalar(raw, 'disk') ?? fallback;
  if (v === AUTO_DISK) return v;
  if (!DISK_PATTERN.test(v)) {
    throw new InputError(`disk: "${v.slice(0, 20)}" is not a whole disk (sda, hdb, vda, nvme0n1, mmcblk0)`, 'disk', msg('error.disk', { value: v.slice(0, 20) }));
  }
  return v;
}

export function parseCompression(raw: Raw, fallback: Compression): Compression {
  const v = scalar(raw, 'compression') ?? fallback;
  if (!(COMPRESSIONS as readonly string[]).includes(v)) {
    throw new InputError(`compression: expected one of ${COMPRESSIONS.join(', ')}`, 'compression', msg('error.choice', { choices: COMPRESSIONS.join(', ') }));
  }
  return v as Compression;
}

export function parseAutoReboot(raw: Raw, fallback: AutoReboot): AutoReboot {
  const v = scalar(raw, 'auto_reboot') ?? fallback;
  if (!(AUTO_REBOOTS as readonly string[]).includes(v)) {
    throw new InputError(`auto_reboot: expected one of ${AUTO_REBOOTS.join(', ')}`, 'auto_reboot', msg('error.choice', { choices: AUTO_REBOOTS.join(', ') }));
  }
  return v as AutoReboot;
}

/** What a bounded number counts, for its error message. */
export type BoundUnit = 'none' | 'minutes' | 'receivers';
const UNIT_TEXT: Readonly<Record<BoundUnit, string>> = { none: '', minutes: ' minutes', receivers: ' (the number of receivers)' };
const UNIT_KEY = { none: 'error.between', minutes: 'error.betweenMinutes', receivers: 'error.betweenReceivers' } as const;

/** A whole number in [min, max]; decimals, exponents and signs other than none are refused. */
export function parseBoundedInt(raw: Raw, field: string, fallback: number, min: number, max: number, unit: BoundUnit = 'none'): number {
  const v = scalar(raw, field);
  if (v === undefined) return fallback;
  if (!/^\d{1,6}$/.test(v)) throw new InputError(`${field}: a whole number is expected`, field, msg('error.wholeNumber'));
  const n = Number(v);
  if (n < min || n > max) throw new InputError(`${field}: must be between ${min} and ${max}${UNIT_TEXT[unit]}`, field, msg(UNIT_KEY[unit], { min, max }));
  return n;
}

export function parseImageName(raw: Raw, fallback: string, allowEmpty: boolean): string {
  const v = scalar(raw, 'image');
  if (v === undefined) return allowEmpty ? '' : fallback;
  if (!IMAGE_PATTERN.test(v)) {
    throw new InputError('image: letters, digits, "_", "." and "-" only (at most 64, not starting with "." or "-")', 'image', msg('error.image'));
  }
  return v;
}

/** The SE3 default image name, image_YYYYMMDD, from the clock (UTC: the same on every server). */
export function defaultImageName(now: Date): string {
  return `image_${now.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/**
 * Clone parameters. min_receivers defaults to the number of receivers (SE3) and may not exceed it;
 * min_wait ≤ max_wait ≤ start_timeout so receivers never give up before the sender could start.
 */
export function parseCloneParams(raw: Raw, receivers: number, defaults: ParamDefaults = BUILTIN_DEFAULTS): CloneParamsWithDomain {
  const errors = new FieldErrorCollector();
  const domain = errors.try('domain', () => parseCloneDomain(raw, defaults.domain ?? 'none'));
  const disk = errors.try('disk', () => parseDisk(raw, defaults.disk));
  const compression = errors.try('compression', () => parseCompression(raw, defaults.compression));
  const maxReceivers = Math.max(1, Math.min(receivers, MAX_RECEIVERS));
  const minReceivers = errors.try('min_receivers', () =>
    parseBoundedInt(raw, 'min_receivers', maxReceivers, 1, maxReceivers, 'receivers'),
  );
  const minWait = errors.try('min_wait', () => parseBoundedInt(raw, 'min_wait', defaults.minWaitMinutes, 0, MAX_WAIT_MINUTES, 'minutes'));
  const maxWait = errors.try('max_wait', () => parseBoundedInt(raw, 'max_wait', defaults.maxWaitMinutes, 1, MAX_WAIT_MINUTES, 'minutes'));
  const startTimeout = errors.try('start_timeout', () =>
    parseBoundedInt(raw, 'start_timeout', defaults.startTimeoutMinutes, 1, MAX_WAIT_MINUTES, 'minutes'),
  );
  const autoReboot = errors.try('auto_reboot', () => parseAutoReboot(raw, defaults.autoReboot));
  if (minWait !== undefined && maxWait !== undefined && minWait > maxWait) {
    errors.add('max_wait', `max_wait: must be at least min_wait (${minWait} minutes)`, msg('error.maxWaitBelowMin', { min: minWait }));
  }
  if (maxWait !== undefined && startTimeout !== undefined && !errors.has('max_wait') && maxWait > startTimeout) {
    errors.add(
      'start_timeout',
      `start_timeout: must be at least max_wait (${maxWait} minutes), or receivers give up before the sender starts`,
      msg('error.timeoutBelowMax', { max: maxWait }),
    );
  }
  errors.throwIfAny();
  return {
    type: 'clone',
    disk: disk!,
    compression: compression!,
    minReceivers: minReceivers!,
    minWaitMinutes: minWait!,
    maxWaitMinutes: maxWait!,
    startTimeoutMinutes: startTimeout!,
    autoReboot: autoReboot!,
    ...(domain === 'windows-domain' ? { domain } : {}),
  };
}
