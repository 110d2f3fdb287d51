/**
 * The line format the shell agent and the server exchange about an image (docs/backup-restore.md):
 * the agent POSTs it to …/image/commit after its uploads, the server answers it from
 * …/image/manifest for a restore. One record per line, words separated by one space, every word in
 * the job charset [A-Za-z0-9._:/,@+-], so busybox `read -r kind a b c …` splits it with no quoting:
 *
 *   clonage-image 1
 *   image image_20250310                      (server → agent only)
 *   disk sda 209715200 512                    name, bytes, sector size
 *   chunk_bytes 67108864
 *   table table.sfdisk 312 <sha256>           `sfdisk -d` output
 *   head head.bin 1048576 <sha256>            first sectors (optional)
 *   tool partclone 0.3.23
 *   part 1 sda1 ext4 partclone.extfs partclone zstd 83886080 11058176
 *   chunk 1 sda1.pc.zst.000 5391 <sha256>     in stream order
 *   end 1                                     number of chunk lines: a cut body is refused
 *
 * manifest.json (what the store keeps) is built from it by the server (buildManifest).
 */
import { InputError } from '../common/domain/errors';
import { assertFileName, isSha256 } from './image-names';
import {
  FS_MODES, type FsMode, IMAGE_COMPRESSIONS, type ImageCompression, type ImageFile, type ImageManifest, type ImagePartition,
  MANIFEST_FORMAT, MANIFEST_VERSION, MAX_CHUNKS, MAX_PARTITIONS, MAX_UPLOAD_BYTES,
} from './image-types';

const WORD = /^[A-Za-z0-9._:/,@+-]{1,128}$/;
const DISK = /^(?:(?:sd|hd|vd)[a-z]|nvme\d{1,2}n\d{1,2}|mmcblk\d{1,2})$/;
const PART_NAME = /^[a-z][a-z0-9]{0,20}$/;
const TOOL = /^(?:partclone\.[a-z0-9]{1,12}|none)$/;
const FS = /^[a-z0-9_]{1,20}$/;

/** What the agent declares at commit time; files are checked against the store by the service. */
export interface CommitDraft {
  readonly disk: { readonly name: string; readonly sizeBytes: number; readonly sectorSize: number };
  readonly chunkBytes: number;
  readonly table: ImageFile;
  readonly head: ImageFile | null;
  readonly tools: Record<string, string>;
  readonly partitions: ImagePartition[];
  /** `store partition sda3`: where an agent-written image is (storage partition / smb). */
  readonly store?: { readonly kind: 'partition' | 'smb'; readonly where: string };
}

function fail(line: number, why: string): never {
  throw new InputError(`manifest line ${line}: ${why}`, 'manifest');
}

function int(v: string | undefined, line: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined || !/^\d{1,16}$/.test(v) || Number(v) > max) fail(line, `${what}: a whole number is expected`);
  return Number(v);
}

function file(words: string[], at: number, line: number, maxBytes: number): ImageFile {
  const name = words[at];
  try {
    assertFileName(name ?? '');
  } catch {
    fail(line, `bad file name`);
  }
  const bytes = int(words[at + 1], line, 'bytes', maxBytes);
  const sha256 = words[at + 2] ?? '';
  if (!isSha256(sha256)) fail(line, 'sha256: 64 lowercase hex digits expected');
  return { file: name, bytes, sha256 };
}

/** Parses and checks the agent's commit body. Throws InputError naming the line. */
export function parseCommit(text: string): CommitDraft {
  const lines = text.replace(/\r/g, '').split('\n');
  let disk: CommitDraft['disk'] | null = null;
  let chunkBytes = 0;
  let table: ImageFile | null = null;
  let head: ImageFile | null = null;
  let ended = -1;
  let chunkLines = 0;
  let store: CommitDraft['store'];
  const tools: Record<string, string> = {};
  const parts = new Map<number, ImagePartition & { chunks: ImageFile[] }>();
  const files = new Set<string>();
  const useFile = (f: ImageFile, n: number) => {
    if (files.has(f.file)) fail(n, `file ${f.file} listed twice`);
    files.add(f.file);
    return f;
  };
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw === '') return;
    if (ended >= 0) fail(n, 'nothing may follow "end"');
    const w = raw.split(' ');
    if (!w.every((x) => WORD.test(x))) fail(n, 'words of [A-Za-z0-9._:/,@+-] separated by one space expected');
    const [kind] = w;
    if (n === 1 && (kind !== MANIFEST_FORMAT || w[1] !== String(MANIFEST_VERSION))) fail(n, `"${MANIFEST_FORMAT} ${MANIFEST_VERSION}" expected`);
    if (n === 1) return;
    switch (kind) {
      case 'disk':
        if (!DISK.test(w[1] ?? '')) fail(n, 'disk: a whole disk name expected');
        disk = { name: w[1], sizeBytes: int(w[2], n, 'disk size'), sectorSize: int(w[3], n, 'sector size', 65536) };
        if (![512, 1024, 2048, 4096].includes(disk.sectorSize)) fail(n, 'sector size: 512, 1024, 2048 or 4096');
        break;
      case 'image': // the server's answer names the image; in a commit the job's name wins
        break;
      case 'store':
        if ((w[1] !== 'partition' && w[1] !== 'smb') || !PART_NAME.test(w[2] ?? '')) fail(n, 'store: "partition <name>" or "smb share" expected');
        store = { kind: w[1] as 'partition' | 'smb', where: w[2] };
        break;
      case 'chunk_bytes':
        chunkBytes = int(w[1], n, 'chunk bytes', MAX_UPLOAD_BYTES);
        break;
      case 'table':
        table = useFile(file(w, 1, n, 64 << 10), n);
        break;
      case 'head':
        head = useFile(file(w, 1, n, 2 << 20), n);
        break;
      case 'tool':
        if (Object.keys(tools).length >= 20) fail(n, 'too many tools');
        tools[w[1]] = w[2] ?? '';
        break;
      case 'part': {
        const number = int(w[1], n, 'partition number', 256);
        if (number < 1 || parts.has(number)) fail(n, `partition ${number}: numbers from 1, each once`);
        if (parts.size >= MAX_PARTITIONS) fail(n, 'too many partitions');
        const [name, fs, tool, mode, compression] = [w[2], w[3], w[4], w[5], w[6]];
        if (!PART_NAME.test(name ?? '') || !FS.test(fs ?? '') || !TOOL.test(tool ?? '')) fail(n, 'part: name, fs or tool malformed');
        if (!(FS_MODES as readonly string[]).includes(mode)) fail(n, `mode: one of ${FS_MODES.join(', ')}`);
        if (!(IMAGE_COMPRESSIONS as readonly string[]).includes(compression)) fail(n, `compression: one of ${IMAGE_COMPRESSIONS.join(', ')}`);
        if ((mode === 'none') !== (tool === 'none') || (mode === 'raw') !== (tool === 'partclone.dd')) fail(n, `tool ${tool} does not fit mode ${mode}`);
        const sizeBytes = int(w[7], n, 'size');
        parts.set(number, { number, name, fs, tool, mode: mode as FsMode, compression: compression as ImageCompression,
          sizeBytes, usedBytes: int(w[8], n, 'used'), chunks: [] });
        break;
      }
      case 'chunk': {
        const p = parts.get(int(w[1], n, 'partition number', 256));
        if (!p) fail(n, 'chunk of a partition not declared before');
        if (p.mode === 'none') fail(n, `partition ${p.number} stores no data`);
        if (++chunkLines > MAX_CHUNKS) fail(n, 'too many chunks');
        p.chunks.push(useFile(file(w, 2, n, MAX_UPLOAD_BYTES), n));
        break;
      }
      case 'end':
        ended = int(w[1], n, 'end count');
        if (ended !== chunkLines) fail(n, `end says ${ended} chunks, ${chunkLines} were listed`);
        break;
      default:
        fail(n, `unknown record "${kind}"`);
    }
  });
  if (ended < 0) throw new InputError('manifest: no "end" line (cut body?)', 'manifest');
  if (!disk) throw new InputError('manifest: no disk line', 'manifest');
  if (!table) throw new InputError('manifest: no partition table', 'manifest');
  for (const p of parts.values()) {
    if (p.mode !== 'none' && p.chunks.length === 0) throw new InputError(`manifest: partition ${p.number} has no chunk`, 'manifest');
  }
  const partitions = [...parts.values()].sort((a, b) => a.number - b.number);
  return { disk, chunkBytes, table, head, tools, partitions, ...(store ? { store } : {}) };
}

/** Who and when an image is: the same for every store. */
export interface ManifestIdentity {
  readonly image: string;
  readonly mac: string;
  readonly machine: string;
  readonly createdAt: string;
  readonly jobId: string;
}

export interface ManifestContext extends ManifestIdentity {
  readonly tableText: string;
}

/** The sfdisk label (dos, gpt…) of a dump, or throws. */
export function tableLabel(text: string): string {
  const m = /^label: ([a-z0-9]{1,10})$/m.exec(text);
  if (!m) throw new InputError('partition table: no "label:" line (not an sfdisk -d dump)', 'manifest');
  return m[1];
}

export function buildManifest(d: CommitDraft, ctx: ManifestContext): ImageManifest {
  return manifestOfDraft(d, ctx, { label: tableLabel(ctx.tableText), text: ctx.tableText });
}

/**
 * manifest.json from a parsed commit. `table` is what the server knows of the sfdisk dump: its
 * label and text when it holds the file, nothing when the image stayed on the PC or a share.
 */
export function manifestOfDraft(d: CommitDraft, id: ManifestIdentity, table: { readonly label: string; readonly text: string }): ImageManifest {
  const all = [d.table, ...(d.head ? [d.head] : []), ...d.partitions.flatMap((p) => p.chunks)];
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    image: id.image,
    mac: id.mac,
    machine: id.machine,
    createdAt: id.createdAt,
    jobId: id.jobId,
    disk: d.disk,
    partitionTable: { ...d.table, ...table },
    head: d.head,
    chunkBytes: d.chunkBytes,
    tools: d.tools,
    partitions: d.partitions,
    storedBytes: all.reduce((s, f) => s + f.bytes, 0),
  };
}

/** Every file of an image, in restore order. */
export function manifestFiles(m: ImageManifest): ImageFile[] {
  return [m.partitionTable, ...(m.head ? [m.head] : []), ...m.partitions.flatMap((p) => p.chunks)].map(({ file, bytes, sha256 }) => ({ file, bytes, sha256 }));
}

/** manifest.json → the agent's line format (with the image's name). */
export function renderAgentManifest(m: ImageManifest): string {
  const t = m.partitionTable;
  const lines = [
    `${MANIFEST_FORMAT} ${MANIFEST_VERSION}`,
    `image ${m.image}`,
    `disk ${m.disk.name} ${m.disk.sizeBytes} ${m.disk.sectorSize}`,
    `chunk_bytes ${m.chunkBytes}`,
    `table ${t.file} ${t.bytes} ${t.sha256}`,
    ...(m.head ? [`head ${m.head.file} ${m.head.bytes} ${m.head.sha256}`] : []),
    ...Object.entries(m.tools).filter(([k, v]) => WORD.test(k) && WORD.test(v)).map(([k, v]) => `tool ${k} ${v}`),
  ];
  let chunks = 0;
  for (const p of m.partitions) {
    lines.push(`part ${p.number} ${p.name} ${p.fs} ${p.tool} ${p.mode} ${p.compression} ${p.sizeBytes} ${p.usedBytes}`);
    for (const c of p.chunks) lines.push(`chunk ${p.number} ${c.file} ${c.bytes} ${c.sha256}`);
    chunks += p.chunks.length;
  }
  lines.push(`end ${chunks}`);
  return `${lines.join('\n')}\n`;
}
