/**
 * The server image store as the agent uses it (docs/backup-restore.md): uploads of a backup job,
 * the commit that verifies and records the image, then retention; the manifest and files of the
 * image a restore job names. Every call is authenticated by the job's session secret through the
 * JobAuthority port (AgentJobs: same checks as the other agent calls, and it counts as news from
 * the agent).
 */
import type { AgentCaller } from '../agent/agent-caller';
import type { Database } from 'better-sqlite3';
import { ConflictError, InputError, type MessageRef, NotFoundError } from '../common/domain/errors';
import { msg } from '../i18n/module-messages';
import type { Clock, Logger } from '../host/contract';
import { type ActionRow, type ActionState, isTerminal, STATES, type TargetRow } from '../actions/model/action-types';
import type { AuthorizedJob, JobAuthority } from '../actions/engine/ports';
import { recordAgentImage } from './agent-store-commit';
import { type BackupLocation, BackupRecords, type BackupRow } from './backup-records';
import { buildManifest, manifestFiles, parseCommit, renderAgentManifest } from './image-manifest';
import { assertFileName, isSha256, macDirName, sanitiseImageName } from './image-names';
import type { ImageStore } from './image-store';
import { type ImageFile, type ImageManifest, ImageStorageError, ImageStoreError, MAX_TABLE_BYTES } from './image-types';
import { renderSmbCredentials } from './smb-settings';
import type { ModuleSettings } from '../settings/module-settings';
import { describeRetention, KEEP_ALL, parseRetention, retentionVictims } from './retention';
import { protectedIds } from './library-schema';

export interface ImageServiceDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly store: ImageStore;
  readonly settings?: ModuleSettings;
  /** The job checks of every agent call (AgentJobs). */
  readonly authority: JobAuthority;
  /** Unfinished actions (retention keeps the images a deploy sends). */
  readonly actions: { actionsIn(states: readonly ActionState[]): ActionRow[] };
}

const UNFINISHED: readonly ActionState[] = STATES.filter((s) => !isTerminal(s));

export interface UploadMeta {
  readonly sha256: string | undefined;
  readonly contentLength: number | undefined;
}

export interface CommitResult {
  readonly image: string;
  readonly storedBytes: number;
  readonly deleted: readonly string[];
}

export class ImageService {
  readonly records: BackupRecords;
  private lastSweep = 0;

  constructor(private readonly deps: ImageServiceDeps) {
    this.records = new BackupRecords(deps.db);
  }

  /** A running job of one of these roles (a deploy job reads like a restore job, another image). */
  private job(jobId: string, caller: AgentCaller, role: 'backup' | 'restore', alsoDeploy = false): AuthorizedJob {
    const job = this.deps.authority.authorize(jobId, caller);
    const roles: string[] = alsoDeploy ? [role, 'deploy'] : [role];
    if (!roles.includes(job.target.role) || job.action.params.type !== job.target.role) throw new ConflictError(`this job is a ${job.target.role}, not a ${roles.join(' or ')}`);
    return job;
  }

  private event(jobId: string, level: 'info' | 'warn' | 'error', message: string, ref?: MessageRef): void {
    try {
      this.deps.authority.note(jobId, level, message, ref);
    } catch (e) {
      this.deps.logger.warn('image event not recorded', { jobId, error: String(e) });
    }
  }

  /** PUT …/image/{file}: one file of a running backup, into the job's staging directory. */
  async upload(jobId: string, caller: AgentCaller, file: string, body: AsyncIterable<Buffer | string>, meta: UploadMeta): Promise<ImageFile> {
    const { target, action } = this.job(jobId, caller, 'backup');
    if (action.params.type === 'backup' && (action.params.store ?? 'server') !== 'server') {
      throw new ConflictError(`this backup writes to the ${action.params.store} store: no upload to the server`);
    }
    const sha = (meta.sha256 ?? '').trim().toLowerCase();
    if (!isSha256(sha)) throw new InputError('X-Sha256: the SHA-256 of the body (64 hex digits) is required', 'sha256');
    await this.sweepSometimes();
    try {
      return await this.deps.store.writeUpload(target.mac, jobId, file, body, { expectedSha256: sha, declaredBytes: meta.contentLength });
    } catch (err) {
      if (err instanceof ImageStoreError) this.deps.logger.warn('image upload refused', { jobId, file, error: (err as Error).message });
      if (err instanceof ImageStorageError) {
        // Disk full or broken: the backup cannot succeed; free what it took. Older images are
        // untouched (a new one replaces them only at its commit).
        await this.deps.store.discardStaging(target.mac, jobId).catch(() => undefined);
        this.event(jobId, 'error', `${target.name}: upload of ${file} failed on the server: ${(err as Error).message}; the backup fails, the previous images are kept`,
          msg('event.image.storeFull', { name: target.name, file, error: (err as Error).message }));
      }
      throw err;
    }
  }

  /** POST …/image/commit: verifies every listed file on the server's disk, then records the image. */
  async commit(jobId: string, caller: AgentCaller, text: string): Promise<CommitResult> {
    const { target, action } = this.job(jobId, caller, 'backup');
    if (action.params.type !== 'backup') throw new ConflictError('not a backup');
    const now = this.deps.clock.now();
    const image = sanitiseImageName(action.params.image, now);
    const store = action.params.store ?? 'server';
    if (store !== 'server') return this.commitAgentImage(jobId, target, store, action.params.disk, image, text, action.params.storagePart);
    const staging = this.deps.store.stagingDir(target.mac, jobId);
    let manifest: ImageManifest;
    let listed: ImageFile[];
    try {
      const draft = parseCommit(text);
      if (action.params.disk !== '' && draft.disk.name !== action.params.disk) throw new InputError(`disk ${draft.disk.name} is not the job's disk ${action.params.disk}`, 'manifest');
      listed = [draft.table, ...(draft.head ? [draft.head] : []), ...draft.partitions.flatMap((p) => p.chunks)];
      await this.deps.store.verify(staging, listed);
      const tableText = await this.deps.store.readText(staging, draft.table.file, MAX_TABLE_BYTES);
      manifest = buildManifest(draft, { image, mac: target.mac, machine: target.name, createdAt: now.toISOString(), jobId, tableText });
    } catch (err) {
      // A refused commit is a failed backup: its files go, nothing is recorded.
      await this.deps.store.discardStaging(target.mac, jobId).catch(() => undefined);
      this.event(jobId, 'error', `${target.name}: image ${image} refused: ${(err as Error).message}`,
        msg('event.image.refused', { name: target.name, image, error: (err as Error).message }));
      throw err;
    }
    this.job(jobId, caller, 'backup'); // still running after the (long) verification
    const promotion = await this.deps.store.promote(target.mac, jobId, manifest, listed);
    let id: number;
    try {
      id = this.deps.db.transaction(() => {
        for (const old of this.records.succeeded(target.mac).filter((b) => b.image === image)) {
          this.records.markDeleted(old.id, now.toISOString(), 'replaced by a newer backup with the same name');
        }
        return this.records.insert({ mac: target.mac, name: target.name, image, createdAt: now.toISOString(),
          sizeBytes: manifest.storedBytes, targetId: jobId, manifestJson: JSON.stringify(manifest) });
      }).immediate();
    } catch (err) {
      await promotion.undo();
      throw err;
    }
    await promotion.finish().catch((e) => this.deps.logger.warn('replaced image not removed', { error: String(e) }));
    const deleted = await this.applyRetention(target.mac, id);
    this.event(jobId, 'info', `${target.name}: image ${image} stored on the server (${manifest.storedBytes} bytes, ` +
      `${manifest.partitions.length} partitions)${deleted.length ? `; retention deleted ${deleted.join(', ')}` : ''}`,
    deleted.length
      ? msg('event.image.storedRetention', { name: target.name, image, storedBytes: manifest.storedBytes, partitions: manifest.partitions.length, deleted: deleted.join(', ') })
      : msg('event.image.stored', { name: target.name, image, storedBytes: manifest.storedBytes, partitions: manifest.partitions.length }));
    return { image, storedBytes: manifest.storedBytes, deleted };
  }

  /**
   * Commit of an image on the PC's storage partition or an SMB share: the manifest only, files
   * verified by the agent (agent-store-commit.ts). The answer's `deleted` names the directories
   * retention lets go: the agent removes them, the rows are already marked here.
   */
  private async commitAgentImage(jobId: string, target: TargetRow, location: 'partition' | 'smb', disk: string, image: string, text: string,
    storagePart?: string): Promise<CommitResult> {
    let recorded: ReturnType<typeof recordAgentImage>;
    try {
      recorded = recordAgentImage(text, { db: this.deps.db, records: this.records, location, jobId, mac: target.mac, machine: target.name,
        disk, image, now: this.deps.clock.now(), storagePart });
    } catch (err) {
      this.event(jobId, 'error', `${target.name}: image ${image} (${location}) refused: ${(err as Error).message}`,
        msg('event.image.refused', { name: target.name, image, error: (err as Error).message }));
      throw err;
    }
    const deleted = await this.applyRetention(target.mac, recorded.id, location);
    const where = location === 'partition' ? `on the storage partition ${recorded.manifest.storagePartition ?? ''}` : 'on the SMB share';
    this.event(jobId, 'info', `${target.name}: image ${image} written ${where} and verified by the agent (${recorded.manifest.storedBytes} bytes)` +
      `${deleted.length ? `; retention: the agent deletes ${deleted.join(', ')}` : ''}`,
    msg(location === 'partition' ? 'event.image.writtenPartition' : 'event.image.writtenShare', {
      name: target.name, image, part: recorded.manifest.storagePartition ?? '', storedBytes: recorded.manifest.storedBytes, deleted: deleted.join(', ') || '—' }));
    return { image, storedBytes: recorded.manifest.storedBytes, deleted };
  }

  /**
   * Deletes the machine's images the `backup.retention` policy lets go (never `justMadeId`), per
   * location: server files are removed here, partition/smb ones by the agent (it gets the names).
   */
  async applyRetention(mac: string, justMadeId: number, location: BackupLocation = 'server'): Promise<string[]> {
    const raw = this.deps.settings ? this.deps.settings.storage().retention : 'all';
    let policy = parseRetention(raw);
    if (!policy) {
      this.deps.logger.warn('backup.retention: unusable value, keeping every image');
      policy = KEEP_ALL;
    }
    const now = this.deps.clock.now();
    const sent = this.imagesBeingDeployed(mac);
    const kept = protectedIds(this.deps.db);
    // protected images count as kept images, so "keep the last K" keeps K others beside them
    const victims = retentionVictims(this.records.succeeded(mac, location).filter((b) => !kept.has(b.id)), justMadeId, policy, now)
      .filter((v) => !sent.has(v.image));
    const deleted: string[] = [];
    for (const v of victims) {
      if (!this.records.markDeleted(v.id, now.toISOString(), `retention ${describeRetention(policy)}`)) continue;
      if (location !== 'server') {
        deleted.push(v.image);
        continue;
      }
      try {
        await this.deps.store.remove(mac, v.image);
      } catch (e) {
        this.deps.logger.warn('retention: files not removed', { mac, image: v.image, error: String(e) });
      }
      deleted.push(v.image);
    }
    if (deleted.length) this.deps.logger.info('retention applied', { mac, location, policy: describeRetention(policy), deleted });
    return deleted;
  }

  /**
   * GET …/image/smb-credentials: the share and its account, for a RUNNING backup or restore job
   * whose store is smb (409 otherwise; 404 when no share is configured), once per job (a second
   * ask is 409 and an event on the action). The path on the share ends with the job's own MAC,
   * never one from the request.
   */
  smbCredentials(jobId: string, caller: AgentCaller): string {
    return this.deps.authority.once(jobId, caller, ({ target, action }) => {
      const p = action.params;
      if ((p.type !== 'backup' && p.type !== 'restore') || (p.store ?? 'server') !== 'smb') throw new ConflictError('this job does not use the SMB share');
      const config = this.deps.settings?.smb() ?? null;
      if (!config) throw new NotFoundError('no SMB share is configured (Configuration page)');
      this.deps.logger.info('smb credentials given to the agent', { jobId, machine: target.name }); // never the password
      return renderSmbCredentials(config, macDirName(target.mac));
    });
  }

  /** Images of `mac` an unfinished multicast deploy sends: retention keeps them until it is over. */
  private imagesBeingDeployed(mac: string): Set<string> {
    const deploys = this.deps.actions.actionsIn(UNFINISHED).map((a) => a.params).filter((p) => p.type === 'deploy');
    return new Set(deploys.filter((p) => p.sourceMac === mac && typeof p.image === 'string').map((p) => p.image));
  }

  /**
   * The image a restore job uses (its `image`, or the machine's newest good one, of its own MAC
   * or of the machine its action names),
   * or the one image a deploy job receives: its action's source, of the source machine. The MAC
   * comes from the job's action, never from the request.
   */
  private readableImage(jobId: string, caller: AgentCaller): { job: AuthorizedJob; row: BackupRow; mac: string } {
    const job = this.job(jobId, caller, 'restore', true);
    const p = job.action.params;
    const store = p.type === 'restore' ? p.store ?? 'server' : 'server';
    if (store !== 'server') throw new ConflictError(`this restore reads its image from the ${store === 'smb' ? 'SMB share' : 'storage partition'}, not from the server`);
    // a restore may read another machine's image, chosen in the library (the wizard checked the admin's rights on it)
    const mac = p.type === 'deploy' ? p.sourceMac : p.type === 'restore' && p.sourceMac ? p.sourceMac : job.target.mac;
    const wanted = p.type === 'restore' || p.type === 'deploy' ? p.image : '';
    const row = this.records.forRestore(mac, wanted);
    if (!row) throw new NotFoundError(`no ${wanted ? `image ${wanted}` : 'image'} on the server for ${p.type === 'deploy' ? mac : job.target.name}`);
    return { job, row, mac };
  }

  async manifest(jobId: string, caller: AgentCaller): Promise<ImageManifest> {
    const { row, mac } = this.readableImage(jobId, caller);
    return this.deps.store.readManifest(mac, row.image);
  }

  /**
   * GET …/image/manifest: the agent's line format. A deploy job also gets `stream <partition>
   * <bytes> <sha256>` lines: the digests of the whole streams the server verified, which the
   * receivers compare with what udpcast delivered.
   */
  async manifestText(jobId: string, caller: AgentCaller): Promise<string> {
    const { job, row, mac } = this.readableImage(jobId, caller);
    const text = renderAgentManifest(await this.deps.store.readManifest(mac, row.image));
    const p = job.action.params;
    if (p.type !== 'deploy') return text;
    return text + (p.streams ?? []).map((s) => `stream ${s.number} ${s.bytes} ${s.sha256}\n`).join('');
  }

  /** GET …/image/{file}: only a file the job's image lists, of that machine. */
  async openFile(jobId: string, caller: AgentCaller, file: string) {
    assertFileName(file);
    const { row, mac } = this.readableImage(jobId, caller);
    const m = await this.deps.store.readManifest(mac, row.image);
    if (!manifestFiles(m).some((f) => f.file === file)) throw new NotFoundError(`${file}: not a file of image ${row.image}`);
    return this.deps.store.openRead(mac, row.image, file);
  }

  /** Staging dirs of jobs that no longer run are removed (failed or abandoned backups). */
  async sweep(): Promise<string[]> {
    const removed = await this.deps.store.sweep((job) => this.deps.authority.isRunning(job));
    if (removed.length) this.deps.logger.info('image store: removed leftovers', { removed });
    return removed;
  }

  private async sweepSometimes(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    await this.sweep().catch((e) => this.deps.logger.warn('image store sweep failed', { error: String(e) }));
  }
}
