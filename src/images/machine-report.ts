/**
 * Ready-to-print data of the reports pages (pages/reports.ejs, pages/report-machine.ejs): the
 * machines that reported or were backed up, and for one machine its latest (or a chosen) report
 * parsed into disks and partitions, the report history and the backups on record.
 */
import type { Database } from 'better-sqlite3';
import { BackupRecords, type BackupRow } from './backup-records';
import { parseReport, type ParsedReport } from './report-parse';
import type { ImageManifest } from './image-types';

export interface MachineSummary {
  readonly mac: string;
  readonly name: string;
  readonly lastReportAt: string | null;
  readonly reports: number;
  readonly goodBackups: number;
  readonly lastBackupAt: string | null;
}

export interface BackupView extends BackupRow {
  /** Partition summary from the manifest: "1 sda1 ext4 (11 MB used)" … */
  readonly partitions: ReadonlyArray<{ number: number; name: string; fs: string; sizeBytes: number; usedBytes: number }>;
}

export interface MachineReportView {
  readonly mac: string;
  readonly name: string;
  readonly report: { readonly id: number; readonly createdAt: string; readonly parsed: ParsedReport; readonly raw: string } | null;
  readonly history: ReadonlyArray<{ id: number; createdAt: string; bytes: number }>;
  readonly backups: readonly BackupView[];
}

/** Every machine known from reports or backups; `macs` restricts (delegated parcs), null = all. */
export function machineSummaries(db: Database, macs: ReadonlySet<string> | null): MachineSummary[] {
  const rows = db
    .prepare(`SELECT mac, MAX(name) AS name, MAX(last_report) AS lastReportAt, SUM(reports) AS reports,
        SUM(good) AS goodBackups, MAX(last_backup) AS lastBackupAt FROM (
        SELECT mac, name, created_at AS last_report, 1 AS reports, 0 AS good, NULL AS last_backup FROM clonage_reports
        UNION ALL
        SELECT mac, name, NULL, 0, CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END,
               CASE WHEN status = 'succeeded' THEN created_at END FROM clonage_backups)
      GROUP BY mac ORDER BY name LIMIT 5000`)
    .all() as MachineSummary[];
  return macs ? rows.filter((r) => macs.has(r.mac)) : rows;
}

function partitionsOf(manifestJson: string | null): BackupView['partitions'] {
  if (!manifestJson) return [];
  try {
    const m = JSON.parse(manifestJson) as ImageManifest;
    return (m.partitions ?? []).map((p) => ({ number: p.number, name: p.name, fs: p.fs, sizeBytes: p.sizeBytes, usedBytes: p.usedBytes }));
  } catch {
    return [];
  }
}

/** One machine; `reportId` picks an older report of the same machine. Null when nothing is known. */
export function machineReportView(db: Database, mac: string, reportId?: number): MachineReportView | null {
  const records = new BackupRecords(db);
  const history = db
    .prepare('SELECT id, created_at AS createdAt, length(content) AS bytes, name FROM clonage_reports WHERE mac = ? ORDER BY created_at DESC, id DESC LIMIT 200')
    .all(mac) as Array<{ id: number; createdAt: string; bytes: number; name: string }>;
  const backups = records.history(mac).map((b) => ({ ...b, partitions: partitionsOf(b.status === 'deleted' ? null : records.manifestJson(b.id)) }));
  if (history.length === 0 && backups.length === 0) return null;
  const chosen = reportId === undefined ? history[0] : history.find((h) => h.id === reportId);
  let report: MachineReportView['report'] = null;
  if (chosen) {
    const raw = (db.prepare('SELECT content FROM clonage_reports WHERE id = ?').get(chosen.id) as { content: string }).content;
    report = { id: chosen.id, createdAt: chosen.createdAt, parsed: parseReport(raw), raw };
  }
  const name = history[0]?.name ?? backups[0]?.name ?? mac;
  return { mac, name, report, history: history.map(({ id, createdAt, bytes }) => ({ id, createdAt, bytes })), backups };
}
