/**
 * Validation of the per-type parameters of an action (SE3 step 3, se3-reference.md §1): the
 * dispatcher above the per-type parsers (clone-params, deploy-params, store-params). SE3 silently
 * replaced bad values (compression → lzop, port → 9002) and checked the wait times in JavaScript
 * only; here every value is refused with a message naming its field, and everything that reaches a
 * job description matches a closed character set.
 */
import { type ActionParams, type ActionType, AUTO_REBOOTS, COMPRESSIONS } from '../model/action-types';
import { FieldErrorCollector } from './field-errors';
import type { ModuleSettings } from '../../settings/module-settings';
import {
  BUILTIN_DEFAULTS, defaultImageName, type ParamDefaults, parseAutoReboot, parseCloneParams, parseCompression, parseDisk, parseImageName, type Raw,
} from './clone-params';
import { type DeploySources, parseDeployParams } from './deploy-params';
import { parseStoragePart, parseStore, type Store } from './store-params';
import { parseRestoreImage } from './image-choice';

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
    const autoReboot = errors.try('auto_reboot', () => parseAutoReboot(raw, d.autoReboot));
    const store = storeFields(raw, errors, d, disk);
    const chosen = errors.try('image', () => parseRestoreImage(raw, store.store, ctx.sources));
    params = { type, disk: disk!, image: chosen?.image ?? '', ...(chosen?.sourceMac ? { sourceMac: chosen.sourceMac } : {}), autoReboot: autoReboot!, ...store };
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

/** The wizard's defaults: the clone settings (an unusable value is its declared default), the backup target, the share. */
export function paramDefaultsFrom(settings: ModuleSettings): ParamDefaults {
  const c = settings.clone();
  return {
    domain: c.domain, compression: c.compression, disk: c.disk, minWaitMinutes: c.minWaitMinutes, maxWaitMinutes: c.maxWaitMinutes,
    startTimeoutMinutes: c.startTimeoutMinutes, autoReboot: c.autoReboot, store: settings.storage().target, smbReady: settings.smb() !== null,
  };
}
