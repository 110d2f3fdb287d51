/**
 * Reads the text an agent's `report` job posts (pxe/agent/agent-run.sh write_report: sections
 * `### disk X`, `### sfdisk -d X`, `### blkid`, `### df`) into disks and partitions for the
 * reports page. The text comes from a PC: parsing is tolerant (what is not understood is skipped
 * and counted) and nothing in it is trusted beyond display.
 */

export interface ReportPartition {
  readonly name: string;
  readonly startSector: number | null;
  readonly sizeBytes: number | null;
  /** sfdisk type: 83, 7, a GPT GUID… */
  readonly type: string | null;
  readonly bootable: boolean;
  readonly fs: string | null;
  readonly label: string | null;
  readonly uuid: string | null;
  readonly usedBytes: number | null;
  readonly freeBytes: number | null;
}

export interface ReportDisk {
  readonly name: string;
  readonly sizeBytes: number | null;
  /** Where it sits (pxe/agent/agent-disks.sh disk_bus): nvme, sata, scsi, virtio, mmc, usb, ide, other. */
  readonly bus: string | null;
  readonly model: string | null;
  readonly removable: boolean;
  /** The disk a job without a disk name would take on this PC. */
  readonly auto: boolean;
  readonly label: string | null;
  readonly sectorSize: number;
  readonly partitions: ReportPartition[];
}

/** An image directory found on a storage partition (`### clonage-store`, agent-dirstore.sh report_store). */
export interface StoreImage {
  readonly partition: string;
  readonly image: string;
  /** The manifest's (or the directory's) modification time as the PC's clock had it. */
  readonly modifiedAt: string | null;
  readonly bytes: number | null;
  /** A manifest that parses and every file it lists present with its size (the agent does not re-hash here). */
  readonly complete: boolean;
}

export interface ParsedReport {
  readonly disks: ReportDisk[];
  /** Partitions labelled CLONAGE the agent looked into, and what it found there. */
  readonly storePartitions: string[];
  readonly storeImages: StoreImage[];
  readonly skippedLines: number;
}

type MutablePart = { -readonly [K in keyof ReportPartition]: ReportPartition[K] };
type MutableDisk = { -readonly [K in keyof ReportDisk]: ReportDisk[K] } & { partitions: MutablePart[] };

const base = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const num = (v: string | undefined) => (v !== undefined && /^\d{1,18}$/.test(v) ? Number(v) : null);

function sections(text: string): Array<{ title: string; lines: string[] }> {
  const out: Array<{ title: string; lines: string[] }> = [];
  for (const line of text.replace(/\r/g, '').split('\n')) {
    const m = /^### (.{1,80})$/.exec(line);
    if (m) out.push({ title: m[1].trim(), lines: [] });
    else if (out.length) out[out.length - 1].lines.push(line);
  }
  return out;
}

function blkidFields(rest: string): Record<string, string> {
  const f: Record<string, string> = {};
  for (const m of rest.matchAll(/([A-Z_]{1,20})="([^"]{0,200})"/g)) f[m[1]] = m[2];
  return f;
}

export function parseReport(text: string): ParsedReport {
  const disks = new Map<string, MutableDisk>();
  const parts = new Map<string, MutablePart>();
  let skipped = 0;
  const storePartitions: string[] = [];
  const storeImages: StoreImage[] = [];
  const disk = (name: string): MutableDisk => {
    let d = disks.get(name);
    if (!d) disks.set(name, (d = { name, sizeBytes: null, bus: null, model: null, removable: false, auto: false, label: null, sectorSize: 512, partitions: [] }));
    return d;
  };
  const part = (name: string): MutablePart | undefined => parts.get(name);
  for (const s of sections(text)) {
    const diskName = /^disk ([a-z0-9]{1,16})$/.exec(s.title)?.[1];
    const sfdiskOf = /^sfdisk -d ([a-z0-9]{1,16})$/.exec(s.title)?.[1];
    if (diskName) {
      const d = disk(diskName);
      for (const l of s.lines.map((x) => x.trim())) {
        const kv = /^([a-z]{1,12})=(.{0,80})$/.exec(l);
        if (!kv) continue;
        if (kv[1] === 'size') d.sizeBytes = num(kv[2]);
        else if (kv[1] === 'bus' && /^[a-z]{1,10}$/.test(kv[2])) d.bus = kv[2];
        else if (kv[1] === 'model' && kv[2] !== 'unknown') d.model = kv[2];
        else if (kv[1] === 'removable') d.removable = kv[2] === '1';
        else if (kv[1] === 'auto') d.auto = kv[2] === 'yes';
      }
    } else if (sfdiskOf) {
      const d = disk(sfdiskOf);
      for (const l of s.lines) {
        const label = /^label: (\S{1,10})$/.exec(l)?.[1];
        const sector = /^sector-size: (\d{1,5})$/.exec(l)?.[1];
        const p = /^(\S{1,120}) : (.*)$/.exec(l);
        if (label) d.label = label;
        else if (sector) d.sectorSize = Number(sector) || 512;
        else if (p) {
          const fields = Object.fromEntries([...p[2].matchAll(/([a-z-]{1,12})=\s*("[^"]*"|[^,]*)/g)].map((m) => [m[1], m[2].trim()]));
          const sectors = num(fields.size);
          const entry: MutablePart = {
            name: base(p[1]), startSector: num(fields.start), sizeBytes: sectors === null ? null : sectors * d.sectorSize,
            type: fields.type ? fields.type.slice(0, 40) : null, bootable: /(^|, )bootable(,|$)/.test(p[2]),
            fs: null, label: null, uuid: null, usedBytes: null, freeBytes: null,
          };
          d.partitions.push(entry);
          parts.set(entry.name, entry);
        } else if (l.trim() !== '' && !/^(label-id|device|unit|first-lba|last-lba|table-length|grain):/.test(l)) skipped++;
      }
    } else if (s.title === 'blkid') {
      for (const l of s.lines) {
        const m = /^(\S{1,120}): (.*)$/.exec(l);
        const p = m ? part(base(m[1])) : undefined;
        if (!m || !p) continue;
        const f = blkidFields(m[2]);
        p.fs = f.TYPE ?? p.fs;
        p.label = f.LABEL ?? p.label;
        p.uuid = f.UUID ?? p.uuid;
      }
    } else if (s.title === 'clonage-store') {
      for (const l of s.lines) {
        // "storage <part>" then "backup <part> <image> <epoch> <bytes> complete|incomplete"
        const st = /^storage ([a-z0-9]{1,24})$/.exec(l.trim());
        const b = /^backup ([a-z0-9]{1,24}) ([A-Za-z0-9_][A-Za-z0-9_.-]{0,99}) (\d{1,12}) (\d{1,18}) (complete|incomplete)$/.exec(l.trim());
        if (st) storePartitions.push(st[1]);
        else if (b) {
          const epoch = Number(b[3]);
          storeImages.push({ partition: b[1], image: b[2], modifiedAt: epoch > 0 ? new Date(epoch * 1000).toISOString() : null,
            bytes: num(b[4]), complete: b[5] === 'complete' });
        } else if (l.trim() !== '') skipped++;
      }
    } else if (s.title === 'df') {
      for (const l of s.lines) {
        // "<fs> <1K-blocks> <used> <available> <use%> <partition> <type>" (agent-run.sh renames the mount point)
        const w = l.trim().split(/\s+/);
        const p = w.length >= 6 ? part(w[5]) : undefined;
        if (!p || num(w[2]) === null) continue;
        p.usedBytes = num(w[2])! * 1024;
        p.freeBytes = num(w[3]) === null ? null : num(w[3])! * 1024;
      }
    }
  }
  return { disks: [...disks.values()], storePartitions, storeImages, skippedLines: skipped };
}
