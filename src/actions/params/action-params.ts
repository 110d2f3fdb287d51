/**
 * Validation of the per-type parameters of an action (SE3 step 3, se3-reference.md §1): the
 * dispatcher above the per-type parsers (clone-params, deploy-params, store-params). SE3 silently
 * replaced bad values (compression → lzop, port → 9002) and checked the wait times in JavaScript
 * only; here every value is refused with a message naming its field, and everything that reaches a
 * job description matches a closed character set.
 */
import { type ActionParams, type ActionType, AUTO_REBOOTS, COMPRESSIONS } from '../model/action-types';
import { FieldErrorCollector } from './field-errors';
import { smbConfigOf } from '../../images/smb-settings';
import {
  BUILTIN_DEFAULTS, CLONE_DOMAINS, defaultImageName, DISK_PATTERN, MAX_WAIT_MINUTES, type ParamDefaults, parseAutoReboot,
  parseCloneParams, parseCompression, parseDisk, parseImageName, type Raw,
} from './clone-params';
import { type DeploySources, parseDeployParams } from './deploy-params';
import { parseStoragePart, parseStore, type Store, storeDefaultFrom } from './store-params';

/** Parameters of any type. `receivers` matters for clones only. */
export function parseActionParams(
  type: ActionType,
  raw: Raw,
  ctx: { readonly receivers: number; readonly now: Date; readonly defaults?: ParamDefaults; readonly sources?: DeploySources },
): ActionParams {
  const d = ctx.defaults ?? BUILTIN_DEFAULTS;
  if (type === 'clone') return parseCloneParams(raw, ctx.receivers, d);
  if (type === 'deploy') return parseDeployParams(raw, ctx.receivers, d, ctx.sources);
  const errors = new FieldErrorCollector();
  let params: ActionParams | undefined;
  if (type === 'backup') {
    const disk = errors.try('disk', () => parseDisk(raw, d.disk));
    const compression = errors.try('compression', () => parseCompression(raw, d.compression));
    const image = errors.try('image', () => parseImageName(raw, defaultImageName(ctx.now), false));
    const autoReboot = errors.try('auto_reboot', () => parseAutoReboot(raw, d.autoReboot));
    params = { type, disk: disk!, compression: compression!, image: image!, autoReboot: autoReboot!, ...storeFields(raw, errors, d, disk) };
  } else if (type === 'restore') {
    const disk = errors.try('disk', () => parseDisk(raw, d.disk));
    const image = errors.try('image', () => parseImageName(raw, '', true));
    const autoReboot = errors.try('auto_reboot', () => parseAutoReboot(raw, d.autoReboot));
    params = { type, disk: disk!, image: image!, autoReboot: autoReboot!, ...storeFields(raw, errors, d, disk) };
  } else if (type === 'report') {
    const autoReboot = errors.try('auto_reboot', () => parseAutoReboot(raw, d.autoReboot));
    params = { type, autoReboot: autoReboot! };
  } else {
    params = { type: 'memtest' };
  }
  errors.throwIfAny();
  return params;
}

/** `store` (+ `storage_part` for the partition store) of a backup or restore. */
function storeFields(raw: Raw, errors: FieldErrorCollector, d: ParamDefaults, disk: string | undefined): { store: Store; storagePart?: string } {
  let store = errors.try('store', () => parseStore(raw, d.store ?? 'server')) ?? 'server';
  if (store === 'smb' && d.smbReady === false) {
    errors.add('store', 'store: no SMB share is configured (Configuration page)');
    store = 'server';
  }
  if (store !== 'partition') return { store };
  const storagePart = errors.try('storage_part', () => parseStoragePart(raw, disk));
  return { store, storagePart: storagePart ?? 'auto' };
}

/** Reads clone defaults from settings, falling back field by field when a value is unusable. */
export function paramDefaultsFrom(settings: { getOr<T>(key: string, fallback: T): T }): ParamDefaults {
  const pick = <T>(key: string, fallback: T, ok: (v: unknown) => boolean): T => {
    const v = settings.getOr<unknown>(key, fallback);
    return ok(v) ? (v as T) : fallback;
  };
  const minutes = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_WAIT_MINUTES;
  const b = BUILTIN_DEFAULTS;
  return {
    domain: pick('clone.domain', b.domain, (v) => (CLONE_DOMAINS as readonly unknown[]).includes(v)),
    compression: pick('clone.compression', b.compression, (v) => (COMPRESSIONS as readonly unknown[]).includes(v)),
    disk: pick('clone.disk', b.disk, (v) => typeof v === 'string' && DISK_PATTERN.test(v)),
    minWaitMinutes: pick('clone.minWaitMinutes', b.minWaitMinutes, minutes),
    maxWaitMinutes: pick('clone.maxWaitMinutes', b.maxWaitMinutes, minutes),
    startTimeoutMinutes: pick('clone.startTimeoutMinutes', b.startTimeoutMinutes, minutes),
    autoReboot: pick('clone.autoReboot', b.autoReboot, (v) => (AUTO_REBOOTS as readonly unknown[]).includes(v)),
    store: storeDefaultFrom(settings),
    smbReady: smbConfigOf(settings) !== null,
  };
}
