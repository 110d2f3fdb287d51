/**
 * Where a backup goes and a restore reads from (SE3's type_dest_part / type_src_part,
 * se3-reference.md §1): `server` (the module's image store over HTTP), `partition` (a storage
 * partition on the PC itself, SE3's default) or `smb` (a share configured on the Configuration
 * page). `storage_part` names the storage partition, or `auto`: the partition of the job's disk
 * whose filesystem label is CLONAGE (docs/backup-restore.md). Both values reach the shell agent,
 * so both are closed sets / closed patterns.
 */
import { InputError } from '../../common/domain/errors';
import { msg } from '../../i18n/module-messages';

export const STORES = ['server', 'partition', 'smb'] as const;
export type Store = (typeof STORES)[number];

/** The filesystem label `storage_part=auto` looks for. */
export const STORAGE_LABEL = 'CLONAGE';

/** A partition (not a whole disk): sda5, hdb2, vda3, nvme0n1p5, mmcblk0p2. */
const PART_PATTERN = /^(?:(?:sd|hd|vd)[a-z][1-9]\d{0,2}|nvme\d{1,2}n\d{1,2}p[1-9]\d{0,2}|mmcblk\d{1,2}p[1-9]\d{0,2})$/;

type Raw = Readonly<Record<string, unknown>>;

function scalar(raw: Raw, field: string): string | undefined {
  const v = raw[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InputError(`${field}: a single value is expected`, field);
  const s = v.trim();
  return s === '' ? undefined : s;
}

export function isStore(v: unknown): v is Store {
  return typeof v === 'string' && (STORES as readonly string[]).includes(v);
}

export function parseStore(raw: Raw, fallback: Store): Store {
  const v = scalar(raw, 'store') ?? fallback;
  if (!isStore(v)) throw new InputError(`store: expected one of ${STORES.join(', ')}`, 'store', msg('error.store'));
  return v;
}

export function isStoragePart(v: string): boolean {
  return v === 'auto' || PART_PATTERN.test(v);
}

/**
 * `auto` or a partition name. When a named partition is given it must belong to the job's disk:
 * the agent skips it when backing up that disk and refuses a table that would move it.
 */
export function parseStoragePart(raw: Raw, disk: string | undefined): string {
  const v = scalar(raw, 'storage_part') ?? 'auto';
  if (!isStoragePart(v)) {
    throw new InputError('storage_part: "auto" or a partition name (sda5, nvme0n1p5, mmcblk0p2)', 'storage_part', msg('error.storagePart'));
  }
  // A disk left to the agent: it checks the partition is on the disk it chose (agent-dirstore.sh).
  if (v !== 'auto' && disk !== undefined && disk !== '' && partitionDisk(v) !== disk) {
    throw new InputError(`storage_part: ${v} is not a partition of the disk ${disk}`, 'storage_part', msg('error.storagePartDisk', { part: v, disk }));
  }
  return v;
}

/** sda5 → sda, nvme0n1p5 → nvme0n1, mmcblk0p2 → mmcblk0. */
export function partitionDisk(part: string): string {
  return /^(?:nvme|mmcblk)/.test(part) ? part.replace(/p\d+$/, '') : part.replace(/\d+$/, '');
}
