import type { frMachines } from './fr-machines';

/** English twin of fr-machines.ts (same keys, same placeholders). */
export const enMachines: Readonly<Record<keyof typeof frMachines, string>> = {
  'wizard.status': 'Status',
  'wizard.free': 'free',
  'wizard.busy': 'busy',
  'wizard.busyIn': 'busy: {title}',
  'wizard.lastReport': 'Last report',
  'wizard.lastContact': 'Last agent contact',
  'wizard.never': 'never',

  'wizard.restore.newest': 'The newest of each PC',
  'wizard.restore.own': 'Images of these PCs (each its own)',
  'wizard.restore.ownOption': '{image} ({count} of {total} PCs)',
  'wizard.restore.other': 'The image of one PC (server)',
  'wizard.restore.otherOption': '{machine} — {image} ({when}, {size})',
  'wizard.restore.hint': 'Another PC’s image is read from the server. Each PC’s disk and firmware are compared with the image before launch.',
  'summary.imageOf': '{image} (image of {machine})',
  'summary.warnings': 'Check before launching',

  'error.restore.none': '{name} has no good image on the server',
  'error.restore.missing': '{name} has no good image “{image}” on the server',
  'error.restore.otherStore': 'another PC’s image is read from the server: choose the “server” store',
  'error.restore.foreign': 'this image belongs to a PC outside your parcs',

  'compat.noReport': '{name} never sent a report: its disk size could not be compared with the image (run a report first)',
  'compat.noDisk': '{name} has no disk {disk} according to its last report (disks: {disks})',
  'compat.diskTooSmall': 'disk {disk} of {name} ({diskBytes}) is smaller than image {image} needs ({neededBytes})',
  'compat.autoUnknown': '{name}: its last report does not say which disk a job without a disk takes, the size was not compared (run a report)',
  'compat.firmware': '{name} boots {target} but image {image} comes from a {source} PC: it may not start after the copy',
  'compat.table': '{name} boots {target} but image {image} has a {table} partition table: it may not start after the copy',
};
