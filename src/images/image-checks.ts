/**
 * The compatibility check's reads (src/actions/params/image-choice.ts ImageChecks) from the
 * module's tables: an image's manifest facts and the firmware of the PC it was taken from, and
 * the targets' last reports.
 */
import type { Database } from 'better-sqlite3';
import { machineFacts } from '../consult/machine-facts';
import type { ImageChecks } from '../actions/params/image-choice';
import { BackupRecords } from './backup-records';
import { neededBytesOf } from './image-compat';

export function imageChecks(db: Database): ImageChecks {
  const records = new BackupRecords(db);
  return {
    imageFacts: (mac, image) => {
      const row = records.forRestore(mac, image);
      if (!row) return null;
      let m: Parameters<typeof neededBytesOf>[0] = {};
      try {
        m = JSON.parse(records.manifestJson(row.id) ?? '{}') as typeof m;
      } catch {
        // an unreadable manifest: nothing to compare, the check says what it could not see
      }
      return {
        mac, machine: row.name, image: row.image, neededBytes: neededBytesOf(m),
        tableLabel: typeof m.partitionTable?.label === 'string' ? m.partitionTable.label : null,
        firmware: machineFacts(db, [mac]).get(mac)?.firmware ?? null,
      };
    },
    targetFacts: (macs) => machineFacts(db, macs),
  };
}
