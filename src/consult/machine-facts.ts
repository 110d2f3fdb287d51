/**
 * What the server knows about a PC, for the wizard's step 2 and the compatibility check of a
 * restore or deploy (issue 16 items 3 and 6): the unfinished action it is in, its last report
 * (date and disk sizes), the last time its agent talked to the server, and the firmware mode its
 * agent last reported. Read from the module's own tables only: nothing here probes the network.
 */
import type { Database } from 'better-sqlite3';
import { parseReport } from '../images/report-parse';

export type FirmwareMode = 'uefi' | 'bios';

export interface MachineFacts {
  readonly mac: string;
  /** The unfinished action this PC is a target of (the wizard links to it). */
  readonly busy: { readonly actionId: string; readonly type: string; readonly parcs: readonly string[]; readonly startAt: string } | null;
  readonly lastReportAt: string | null;
  /** Disk sizes in bytes by disk name (sda, nvme0n1) from the last report; empty without one. */
  readonly disks: Readonly<Record<string, number>>;
  /** The disk a job without a disk name takes on this PC, per its last report (older reports: null). */
  readonly autoDisk: string | null;
  /** The agent's last call: a job fetched (start), its progress, or its result. */
  readonly lastContactAt: string | null;
  readonly firmware: FirmwareMode | null;
}

const NONE: Omit<MachineFacts, 'mac'> = { busy: null, lastReportAt: null, disks: {}, autoDisk: null, lastContactAt: null, firmware: null };
/** SQLite's default bound on parameters is far above this; larger lists are read in slices. */
const SLICE = 400;

function slices<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += SLICE) out.push(list.slice(i, i + SLICE));
  return out;
}

/** Facts of each MAC (canonical form, as stored), every MAC present in the answer. */
export function machineFacts(db: Database, macs: readonly string[]): Map<string, MachineFacts> {
  const facts = new Map<string, { -readonly [K in keyof MachineFacts]: MachineFacts[K] }>();
  for (const mac of new Set(macs)) facts.set(mac, { mac, ...NONE });
  for (const part of slices([...facts.keys()])) {
    const marks = part.map(() => '?').join(',');
    const busy = db.prepare(`SELECT t.mac, a.id, a.type, a.parcs_json AS parcs, a.start_at AS startAt FROM clonage_targets t
        JOIN clonage_actions a ON a.id = t.action_id
        WHERE t.mac IN (${marks}) AND t.state NOT IN ('succeeded','failed','cancelled') ORDER BY a.start_at`)
      .all(...part) as { mac: string; id: string; type: string; parcs: string; startAt: string }[];
    for (const b of busy) {
      const f = facts.get(b.mac)!;
      if (!f.busy) f.busy = { actionId: b.id, type: b.type, parcs: parseList(b.parcs), startAt: b.startAt };
    }
    const reports = db.prepare(`SELECT r.mac, r.created_at AS at, r.content FROM clonage_reports r
        WHERE r.id IN (SELECT MAX(id) FROM clonage_reports WHERE mac IN (${marks}) GROUP BY mac)`)
      .all(...part) as { mac: string; at: string; content: string }[];
    for (const r of reports) {
      const f = facts.get(r.mac)!;
      f.lastReportAt = r.at;
      const disks: Record<string, number> = {};
      for (const d of parseReport(r.content).disks) {
        if (d.sizeBytes !== null) disks[d.name] = d.sizeBytes;
        if (d.auto) f.autoDisk = d.name;
      }
      f.disks = disks;
    }
    // A target the agent fetched: its result or progress time while it ran, else the fetch itself
    // (a job that later timed out on the server side says nothing about the agent after it started).
    const contacts = db.prepare(`SELECT mac, MAX(CASE WHEN exit_code IS NOT NULL OR state = 'running' THEN updated_at ELSE started_at END) AS at
        FROM clonage_targets WHERE mac IN (${marks}) AND fetched_from IS NOT NULL GROUP BY mac`)
      .all(...part) as { mac: string; at: string | null }[];
    for (const c of contacts) facts.get(c.mac)!.lastContactAt = c.at;
    // how the PC last booted, from its agent's last result that said it (agent-jobs.ts)
    const firmware = db.prepare(`SELECT mac, firmware FROM clonage_targets WHERE mac IN (${marks}) AND firmware IN ('uefi','bios')
        ORDER BY updated_at DESC`).all(...part) as { mac: string; firmware: FirmwareMode }[];
    for (const e of firmware) {
      const f = facts.get(e.mac)!;
      if (!f.firmware) f.firmware = e.firmware;
    }
  }
  // a report is an agent's call too
  for (const f of facts.values()) {
    if (f.lastReportAt && (!f.lastContactAt || f.lastReportAt > f.lastContactAt)) f.lastContactAt = f.lastReportAt;
  }
  return facts;
}

function parseList(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
