/**
 * The image library (issue 16 item 3): every good image with what an admin needs to decide
 * (machine, date, size, store, who verified it, what retention will do), and the three changes
 * an admin makes by hand — delete, rename, protect from retention. Pages and the REST API both
 * call this; rights (which machines the caller sees) are decided by the caller's visible MACs.
 */
import { readFile, rename as renameFile, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '../common/domain/errors';
import type { Clock, Logger } from '../host/contract';
import { msg } from '../i18n/module-messages';
import { BackupRecords, type BackupRow } from './backup-records';
import { assertImageName } from './image-names';
import type { ImageStore } from './image-store';
import { protectedIds } from './library-schema';
import { KEEP_ALL, parseRetention, type RetentionPolicy, retentionVictims } from './retention';
import type { ModuleSettings } from '../settings/module-settings';

/** What retention does to an image at the machine's next backup. */
export type RetentionStatus = 'protected' | 'kept' | 'next' | 'lastGood';

export interface LibraryImage {
  readonly id: number;
  readonly mac: string;
  readonly machine: string;
  readonly image: string;
  readonly createdAt: string;
  readonly sizeBytes: number | null;
  readonly location: BackupRow['location'];
  /** Who checked every file's size and SHA-256: the server (its store) or the agent. */
  readonly verifiedBy: 'server' | 'agent';
  readonly retention: RetentionStatus;
  /** Only server images are deleted and renamed here (the others live on a PC or a share). */
  readonly manageable: boolean;
  /** Facts for the compatibility check of a restore or deploy (image-compat.ts). */
  readonly diskBytes: number | null;
  readonly tableLabel: string | null;
}

export interface StoreSpace {
  readonly location: BackupRow['location'];
  readonly freeBytes: number | null;
  readonly totalBytes: number | null;
}

export interface ImageLibraryDeps {
  readonly db: Database;
  readonly store: ImageStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: ModuleSettings;
}

/** MACs the caller may see, or null for every machine (system_is_admin). */
export type VisibleMacs = ReadonlySet<string> | null;

const ACTIVE = "state NOT IN ('succeeded','failed','cancelled')";

export class ImageLibrary {
  private readonly records: BackupRecords;

  constructor(private readonly deps: ImageLibraryDeps) {
    this.records = new BackupRecords(deps.db);
  }

  private policy(): RetentionPolicy {
    return parseRetention(this.deps.settings.storage().retention) ?? KEEP_ALL;
  }

  list(visible: VisibleMacs): LibraryImage[] {
    const rows = this.records.allSucceeded(2000).filter((r) => !visible || visible.has(r.mac));
    const kept = protectedIds(this.deps.db);
    const policy = this.policy();
    const now = this.deps.clock.now();
    // What retention would delete at the next backup of each machine and store (a new image counts as the newest).
    const next = new Set<number>();
    const groups = new Map<string, BackupRow[]>();
    for (const r of rows) groups.set(`${r.mac}|${r.location}`, [...(groups.get(`${r.mac}|${r.location}`) ?? []), r]);
    for (const g of groups.values()) {
      const future = { ...g[0], id: -1, createdAt: now.toISOString() };
      for (const v of retentionVictims([future, ...g.filter((b) => !kept.has(b.id))], -1, policy, now)) next.add(v.id);
    }
    return rows.map((r) => {
      const m = this.manifestFacts(r.id);
      const good = groups.get(`${r.mac}|${r.location}`)!;
      const retention: RetentionStatus = kept.has(r.id) ? 'protected' : good.length === 1 ? 'lastGood' : next.has(r.id) ? 'next' : 'kept';
      return { id: r.id, mac: r.mac, machine: r.name, image: r.image, createdAt: r.createdAt, sizeBytes: r.sizeBytes, location: r.location,
        verifiedBy: m.verifiedBy, retention, manageable: r.location === 'server', diskBytes: m.diskBytes, tableLabel: m.tableLabel };
    });
  }

  private manifestFacts(id: number): { verifiedBy: 'server' | 'agent'; diskBytes: number | null; tableLabel: string | null } {
    try {
      const m = JSON.parse(this.records.manifestJson(id) ?? '{}') as { verifiedBy?: string; disk?: { sizeBytes?: number }; partitionTable?: { label?: string } };
      return { verifiedBy: m.verifiedBy === 'agent' ? 'agent' : 'server', diskBytes: typeof m.disk?.sizeBytes === 'number' ? m.disk.sizeBytes : null,
        tableLabel: typeof m.partitionTable?.label === 'string' ? m.partitionTable.label : null };
    } catch {
      return { verifiedBy: 'server', diskBytes: null, tableLabel: null };
    }
  }

  /** Free space of each store: the server's file system; a PC's partition or a share is not seen from here. */
  async stores(): Promise<StoreSpace[]> {
    let server: StoreSpace = { location: 'server', freeBytes: null, totalBytes: null };
    for (const dir of [this.deps.store.root, join(this.deps.store.root, '..')]) {
      try {
        const s = await statfs(dir);
        server = { location: 'server', freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
        break;
      } catch {
        // a fresh server has no images/ folder yet: its parent tells the same disk
      }
    }
    return [server, { location: 'partition', freeBytes: null, totalBytes: null }, { location: 'smb', freeBytes: null, totalBytes: null }];
  }

  /** One good image the caller may see, else 404 / 403. */
  get(id: number, visible: VisibleMacs): LibraryImage {
    const row = this.list(null).find((i) => i.id === id);
    if (!row) throw new NotFoundError(`no image ${id}`, msg('library.missing'));
    if (visible && !visible.has(row.mac)) throw new ForbiddenError('this image belongs to a machine outside your parcs', msg('denied.machine'));
    return row;
  }

  /** An unfinished restore or deploy reads this image: it must stay as it is. */
  private assertNotInUse(img: LibraryImage): void {
    const rows = this.deps.db.prepare(`SELECT params_json AS p FROM clonage_actions WHERE type IN ('restore','deploy') AND ${ACTIVE}`).all() as { p: string }[];
    const busy = rows.some((r) => {
      const p = JSON.parse(r.p) as { type: string; image?: string; sourceMac?: string };
      return p.image === img.image && (p.sourceMac === img.mac || (p.type === 'restore' && !p.sourceMac && this.restoresMac(img.mac)));
    });
    if (busy) throw new ConflictError(`image ${img.image} is being read by an unfinished action`, msg('library.inUse', { image: img.image }));
  }

  private restoresMac(mac: string): boolean {
    return !!this.deps.db.prepare(`SELECT 1 FROM clonage_targets t JOIN clonage_actions a ON a.id = t.action_id
      WHERE a.type = 'restore' AND a.${ACTIVE} AND t.mac = ?`).get(mac);
  }

  /**
   * Deletes a server image. The machine's last good image needs `confirmLast` (a second, explicit
   * confirmation): without it the machine has nothing to restore.
   */
  async delete(id: number, visible: VisibleMacs, by: string, confirmLast: boolean): Promise<LibraryImage> {
    const img = this.get(id, visible);
    if (!img.manageable) throw new ConflictError('only server images are deleted here', msg('library.notServer'));
    if (img.retention === 'lastGood' && !confirmLast) throw new ConflictError('the last good image of this machine', msg('library.confirmLast', { machine: img.machine }));
    this.assertNotInUse(img);
    if (!this.records.markDeleted(id, this.deps.clock.now().toISOString(), `deleted by ${by}`)) throw new NotFoundError(`no image ${id}`, msg('library.missing'));
    await this.deps.store.remove(img.mac, img.image).catch((e) => this.deps.logger.warn('library: files not removed', { id, error: String(e) }));
    this.deps.logger.info('image deleted', { id, mac: img.mac, image: img.image, by });
    return img;
  }

  /** Renames a server image: its folder, its manifest and its row. */
  async rename(id: number, visible: VisibleMacs, by: string, rawName: unknown): Promise<{ from: string; to: string }> {
    const img = this.get(id, visible);
    if (!img.manageable) throw new ConflictError('only server images are renamed here', msg('library.notServer'));
    const to = typeof rawName === 'string' ? rawName.trim() : '';
    try {
      assertImageName(to);
    } catch {
      throw new InputError('name: letters, digits, _ . - (64 at most)', 'name', msg('library.badName'));
    }
    if (to === img.image) return { from: img.image, to };
    if (this.records.succeeded(img.mac).some((b) => b.image === to)) throw new ConflictError(`image ${to} exists`, msg('library.nameTaken', { image: to }));
    this.assertNotInUse(img);
    const from = this.deps.store.imageDir(img.mac, img.image);
    const dest = this.deps.store.imageDir(img.mac, to);
    await renameFile(from, dest);
    try {
      const manifestPath = join(dest, 'manifest.json');
      const m = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
      await writeFile(`${manifestPath}.tmp`, JSON.stringify({ ...m, image: to }, null, 2));
      await renameFile(`${manifestPath}.tmp`, manifestPath);
      this.deps.db.prepare('UPDATE clonage_backups SET image = ?, manifest_json = json_set(manifest_json, \'$.image\', ?) WHERE id = ?').run(to, to, id);
    } catch (e) {
      await renameFile(dest, from).catch(() => undefined);
      throw e;
    }
    this.deps.logger.info('image renamed', { id, mac: img.mac, from: img.image, to, by });
    return { from: img.image, to };
  }

  protect(id: number, visible: VisibleMacs, by: string, on: boolean): LibraryImage {
    const img = this.get(id, visible);
    if (on) this.deps.db.prepare('INSERT OR IGNORE INTO clonage_image_protection (backup_id, protected_by, protected_at) VALUES (?, ?, ?)').run(id, by, this.deps.clock.now().toISOString());
    else this.deps.db.prepare('DELETE FROM clonage_image_protection WHERE backup_id = ?').run(id);
    this.deps.logger.info(on ? 'image protected' : 'image protection removed', { id, by });
    return img;
  }
}
