/**
 * Commit of an image the agent wrote itself, on the PC's storage partition or an SMB share
 * (docs/backup-restore.md, "Directory stores"). The server cannot read those files: it parses
 * the line manifest with the same strictness as for its own store, checks the disk is the job's
 * and records a row with the location and `verifiedBy: 'agent'` (the agent re-read every file
 * and compared size and SHA-256 before it renamed the image into place). Retention is decided
 * here, with the same rules as for server images (retention.ts); the agent deletes the
 * directories the answer names.
 */
import type { Database } from 'better-sqlite3';
import { InputError } from '../common/domain/errors';
import type { BackupLocation, BackupRecords } from './backup-records';
import { type CommitDraft, manifestOfDraft, parseCommit } from './image-manifest';
import type { ImageManifest } from './image-types';

export interface AgentCommitContext {
  readonly db: Database;
  readonly records: BackupRecords;
  readonly location: Exclude<BackupLocation, 'server'>;
  readonly jobId: string;
  readonly mac: string;
  readonly machine: string;
  readonly disk: string;
  readonly image: string;
  readonly now: Date;
  /** The job's storage_part when it named one (not `auto`): the manifest must say the same. */
  readonly storagePart?: string;
}

/** The manifest.json kept in the row: the agent's declaration, marked as verified by the agent. */
export function agentVerifiedManifest(d: CommitDraft, ctx: AgentCommitContext): ImageManifest {
  return {
    // The sfdisk text stays on the PC / share: the server never received it.
    ...manifestOfDraft(d, { ...ctx, createdAt: ctx.now.toISOString() }, { label: 'unknown', text: '' }),
    location: ctx.location,
    verifiedBy: 'agent',
    ...(d.store?.kind === 'partition' ? { storagePartition: d.store.where } : {}),
  };
}

/** Parses, checks and records; returns the row id and the manifest. Throws InputError when refused. */
export function recordAgentImage(text: string, ctx: AgentCommitContext): { id: number; manifest: ImageManifest } {
  const draft = parseCommit(text);
  // '' : the agent chose the disk (the first fixed one); the manifest names it.
  if (ctx.disk !== '' && draft.disk.name !== ctx.disk) throw new InputError(`disk ${draft.disk.name} is not the job's disk ${ctx.disk}`, 'manifest');
  if (draft.store?.kind !== ctx.location) throw new InputError(`the manifest does not say "store ${ctx.location} …"`, 'manifest');
  if (ctx.storagePart && ctx.storagePart !== 'auto' && draft.store.where !== ctx.storagePart) {
    throw new InputError(`storage partition ${draft.store.where} is not the job's ${ctx.storagePart}`, 'manifest');
  }
  const manifest = agentVerifiedManifest(draft, ctx);
  const at = ctx.now.toISOString();
  const id = ctx.db.transaction(() => {
    for (const old of ctx.records.succeeded(ctx.mac, ctx.location).filter((b) => b.image === ctx.image)) {
      ctx.records.markDeleted(old.id, at, 'replaced by a newer backup with the same name');
    }
    return ctx.records.insert({ mac: ctx.mac, name: ctx.machine, image: ctx.image, createdAt: at, sizeBytes: manifest.storedBytes,
      targetId: ctx.jobId, manifestJson: JSON.stringify(manifest), location: ctx.location });
  }).immediate();
  return { id, manifest };
}
