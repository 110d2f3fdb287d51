/**
 * Can this image go on that PC? Checked before a restore or deploy is launched (issue 16 item 3),
 * against what the PC's agent last told the server (machine-facts.ts): the disk must exist and be
 * large enough for the image's partitions (sfdisk fits a smaller table on a larger disk, never the
 * reverse), and a firmware mode that differs from the image's is said as a warning (the copy works,
 * the PC may not boot it). A PC that never reported cannot be checked: a warning says so.
 */
import type { MessageRef } from '../common/domain/errors';
import { msg } from '../i18n/module-messages';
import type { FirmwareMode } from '../consult/machine-facts';

/** What the check needs of an image (its manifest and the firmware of the PC it was taken from). */
export interface ImageFacts {
  readonly mac: string;
  readonly machine: string;
  readonly image: string;
  /** Bytes from the disk's start to the end of the last partition (+ GPT's backup header), or the disk's size. */
  readonly neededBytes: number | null;
  /** `dos` or `gpt` (sfdisk's label). */
  readonly tableLabel: string | null;
  readonly firmware: FirmwareMode | null;
}

/** What the check needs of a target PC. */
export interface TargetFacts {
  readonly name: string;
  readonly lastReportAt: string | null;
  readonly disks: Readonly<Record<string, number>>;
  /** The disk a job without a disk name takes there (its last report), when known. */
  readonly autoDisk?: string | null;
  readonly firmware: FirmwareMode | null;
}

export interface CompatFinding {
  readonly level: 'refuse' | 'warn';
  /** English, for logs and APIs. */
  readonly text: string;
  readonly ref: MessageRef;
}

/** GPT keeps a backup header (33 sectors) after the last partition. */
const GPT_TAIL_SECTORS = 34;

/** Bytes an image's partition table needs from the start of the disk (its last partition's end). */
export function neededBytesOf(m: { disk?: { sizeBytes?: number; sectorSize?: number }; partitionTable?: { label?: string; text?: string } }): number | null {
  const ss = typeof m.disk?.sectorSize === 'number' && m.disk.sectorSize > 0 ? m.disk.sectorSize : 512;
  let end = 0;
  for (const line of (m.partitionTable?.text ?? '').split('\n')) {
    const f = /start=\s*(\d{1,15}),\s*size=\s*(\d{1,15})/.exec(line);
    if (f) end = Math.max(end, Number(f[1]) + Number(f[2]));
  }
  if (end > 0) return (end + (m.partitionTable?.label === 'gpt' ? GPT_TAIL_SECTORS : 0)) * ss;
  return typeof m.disk?.sizeBytes === 'number' ? m.disk.sizeBytes : null;
}

const FIRMWARE_NAME: Readonly<Record<FirmwareMode, string>> = { uefi: 'UEFI', bios: 'BIOS' };

/**
 * What is wrong (refuse) or risky (warn) in putting `image` on `disk` of `target`; empty when it
 * fits. An empty `disk` is the one the agent picks (the report names it).
 */
export function compatibility(image: ImageFacts, target: TargetFacts, wanted: string): CompatFinding[] {
  const out: CompatFinding[] = [];
  const name = target.name;
  const disk = wanted || target.autoDisk || '';
  if (!target.lastReportAt) {
    out.push({ level: 'warn', text: `${name}: no hardware report, the disk size could not be compared with the image's`, ref: msg('compat.noReport', { name }) });
  } else if (!disk) {
    out.push({ level: 'warn', text: `${name}: its last report does not say which disk a job takes, the size was not compared`, ref: msg('compat.autoUnknown', { name }) });
  } else if (!(disk in target.disks)) {
    const disks = Object.keys(target.disks).join(', ') || '—';
    out.push({ level: 'refuse', text: `${name}: no disk ${disk} in its last report (disks: ${disks})`, ref: msg('compat.noDisk', { name, disk, disks }) });
  } else if (image.neededBytes !== null && target.disks[disk] < image.neededBytes) {
    const diskBytes = target.disks[disk];
    out.push({
      level: 'refuse',
      text: `${name}: disk ${disk} (${diskBytes} bytes) is smaller than image ${image.image} needs (${image.neededBytes} bytes)`,
      ref: msg('compat.diskTooSmall', { name, disk, diskBytes, image: image.image, neededBytes: image.neededBytes }),
    });
  }
  const want = image.firmware ?? (image.tableLabel === 'gpt' ? 'uefi' : image.tableLabel === 'dos' ? 'bios' : null);
  if (target.firmware && want && target.firmware !== want) {
    const vars = { name, image: image.image, target: FIRMWARE_NAME[target.firmware], source: FIRMWARE_NAME[want] };
    out.push(image.firmware
      ? { level: 'warn', text: `${name} boots ${vars.target}, image ${image.image} comes from a ${vars.source} PC`, ref: msg('compat.firmware', vars) }
      : { level: 'warn', text: `${name} boots ${vars.target}, image ${image.image} has a ${image.tableLabel} partition table`,
        ref: msg('compat.table', { ...vars, table: image.tableLabel === 'gpt' ? 'GPT' : 'MBR' }) });
  }
  return out;
}
