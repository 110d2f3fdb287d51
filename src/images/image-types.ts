/**
 * The server image store's model (docs/backup-restore.md): one directory per image,
 * `<dataDir>/images/<mac-with-dashes>/<image>/`, holding `manifest.json` and the files the agent
 * uploaded (partition table, boot area, chunks of the compressed partclone streams).
 */
import { ClonageError } from '../common/domain/errors';

export const MANIFEST_FORMAT = 'clonage-image';
export const MANIFEST_VERSION = 1;
/** Chunk size the agent is told to use (job key chunk_mb). */
export const DEFAULT_CHUNK_BYTES = 64 << 20;
/** Largest file the server accepts in one upload. */
export const MAX_UPLOAD_BYTES = 256 << 20;
/** Partition table and boot area files are small. */
export const MAX_TABLE_BYTES = 64 << 10;
export const MAX_HEAD_BYTES = 2 << 20;
export const MAX_PARTITIONS = 128;
/** 64 MiB chunks: 100 000 of them is a 6 TB image. */
export const MAX_CHUNKS = 100_000;

export const FS_MODES = ['partclone', 'raw', 'none'] as const;
/** partclone: a partclone image (partclone.restore); raw: partclone.dd output; none: nothing stored (swap, extended). */
export type FsMode = (typeof FS_MODES)[number];
export const IMAGE_COMPRESSIONS = ['none', 'zstd', 'gzip', 'lzop'] as const;
export type ImageCompression = (typeof IMAGE_COMPRESSIONS)[number];

export interface ImageFile {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface ImagePartition {
  /** Partition number (1 for sda1, nvme0n1p1): restore maps it onto the target disk's naming. */
  readonly number: number;
  /** Name on the machine that was backed up, for display. */
  readonly name: string;
  /** blkid TYPE, or "unknown". */
  readonly fs: string;
  /** The agent's program for this partition: partclone.extfs, partclone.ntfs, partclone.fat, partclone.dd, none. */
  readonly tool: string;
  readonly mode: FsMode;
  readonly compression: ImageCompression;
  readonly sizeBytes: number;
  /** Bytes in use as partclone counted them (the whole partition for raw). */
  readonly usedBytes: number;
  readonly chunks: readonly ImageFile[];
}

export interface ImageManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  readonly image: string;
  readonly mac: string;
  readonly machine: string;
  readonly createdAt: string;
  readonly jobId: string;
  readonly disk: { readonly name: string; readonly sizeBytes: number; readonly sectorSize: number };
  readonly partitionTable: ImageFile & { readonly label: string; readonly text: string };
  /** The disk's first sectors (boot code, and the gap before the first partition of a DOS disk). */
  readonly head: ImageFile | null;
  readonly chunkBytes: number;
  readonly tools: Readonly<Record<string, string>>;
  readonly partitions: readonly ImagePartition[];
  /** Sum of every stored file (what the image costs on the server). */
  readonly storedBytes: number;
  /** Absent: server. partition / smb: the files are on the PC or the share, the server never saw them. */
  readonly location?: 'server' | 'partition' | 'smb';
  /** Who checked every file's size and SHA-256 after writing it: the server (its store) or the agent. */
  readonly verifiedBy?: 'server' | 'agent';
  /** partition: the storage partition the image is on (e.g. sda3). */
  readonly storagePartition?: string;
}

/** The image store's own errors; image-routes.ts maps them to HTTP statuses. */
export class ImageStoreError extends ClonageError {}
/** Disk full, quota, I/O error on the server: 507. The upload's temp file is gone. */
export class ImageStorageError extends ImageStoreError {}
/** Body larger than allowed: 413. */
export class ImageTooLargeError extends ImageStoreError {}
/** A SHA-256 that does not match (upload header or commit re-check): 422. */
export class ImageIntegrityError extends ImageStoreError {}
