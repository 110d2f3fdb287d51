/**
 * The shell's DHCP module (SE3's se3-dhcp): reservations and PXE options in SQLite, rendered to
 * a dnsmasq configuration that is rewritten whenever they change, plus change events for the
 * modules that depend on reservations (clonage selects machines by them).
 *
 * Two files are written: the main config (settings + PXE, changes rarely) and a dhcp-hostsfile
 * with the reservations. dnsmasq re-reads the hosts file on SIGHUP but never its main config
 * (dnsmasq(8), NOTES; checked by test/integration/dhcp-netns.test.ts), so the reload hook is told
 * whether a SIGHUP is enough or a restart is needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { InputError } from '../../common/domain/errors';
import type { Hostname } from '../../common/domain/hostname';
import type { Ipv4 } from '../../common/domain/ipv4';
import type { Mac } from '../../common/domain/mac';
import type { Clock, DhcpApi, DhcpChange, DhcpConfigStatus, Logger, PxeBootOptions } from '../../host/contract';
import { parseConfigPath, parsePxeBootOptions, pxeToJson, type ConfigPath, type DhcpSettings, type ValidPxeBoot } from './dhcp-config';
import { renderDnsmasqConfig, renderDnsmasqHosts } from './dnsmasq-renderer';
import { writeFileAtomic } from './files';
import { renderIscDhcpdConfig } from './isc-renderer';
import { DhcpConflictError, ReservationStore, type ReservationInput, type StoredReservation } from './reservation-store';

export interface WriteResult {
  /** Main config changed: dnsmasq must be restarted to apply it (SIGHUP does not re-read it). */
  readonly configChanged: boolean;
  /** Only the hosts file changed: SIGHUP is enough. */
  readonly hostsChanged: boolean;
}

/** Called after files changed. Production: SIGHUP via signalPidFile, and a restart when configChanged. */
export type DhcpReloadHook = (what: WriteResult) => void | Promise<void>;

export interface DhcpModuleOptions {
  readonly db: Database;
  readonly settings: DhcpSettings;
  readonly clock: Clock;
  /** Absolute path of the dnsmasq main config. */
  readonly configPath: string;
  /** Absolute path of the reservations file; default `<configPath without extension>.hosts`. */
  readonly hostsPath?: string;
  readonly reload?: DhcpReloadHook;
  readonly logger?: Logger;
}

export class DhcpModule implements DhcpApi {
  readonly configPath: ConfigPath;
  readonly hostsPath: ConfigPath;
  private readonly store: ReservationStore;
  private readonly listeners = new Set<(change: DhcpChange) => void>();
  /** PXE options by module id; at most one entry (see setPxeBoot). */
  private pxe = new Map<string, ValidPxeBoot>();

  constructor(private readonly opts: DhcpModuleOptions) {
    this.configPath = parseConfigPath(opts.configPath, 'configPath');
    const parsed = path.parse(this.configPath);
    this.hostsPath = parseConfigPath(opts.hostsPath ?? path.join(parsed.dir, `${parsed.name}.hosts`), 'hostsPath');
    if (this.hostsPath === this.configPath) throw new InputError('hostsPath: must differ from configPath', 'hostsPath');
    this.store = new ReservationStore(opts.db, opts.settings, opts.clock);
    this.loadPxe();
  }

  // ---------------------------------------------------------------- DhcpApi

  listReservations(): StoredReservation[] {
    return this.store.list();
  }

  findByMac(mac: Mac): StoredReservation | null {
    return this.store.findByMac(mac);
  }

  findByName(name: Hostname): StoredReservation | null {
    return this.store.findByName(name);
  }

  findByIp(ip: Ipv4): StoredReservation | null {
    return this.store.findByIp(ip);
  }

  /**
   * Only one module may steer PXE booting: a second one gets a ConflictError naming the holder
   * instead of silently winning or losing. Setting the same options again is a no-op, so a
   * module can call this at every start without restarting dnsmasq.
   */
  setPxeBoot(moduleId: string, options: PxeBootOptions | null): void {
    const id = parseModuleId(moduleId);
    const current = this.pxe.get(id);
    const next = options === null ? null : parsePxeBootOptions(options);
    if (next) {
      const holder = [...this.pxe.keys()].find((k) => k !== id);
      if (holder) throw new DhcpConflictError(`pxe: module "${holder}" already sets the PXE boot options; it must clear them first`, 'pxe');
    }
    const unchanged = next === null ? current === undefined : current !== undefined && JSON.stringify(pxeToJson(current)) === JSON.stringify(pxeToJson(next));
    if (unchanged) return;
    const before = new Map(this.pxe);
    try {
      this.mutate(() => {
        this.store.savePxeOptions(id, next ? pxeToJson(next) : null);
        if (next) this.pxe.set(id, next);
        else this.pxe.delete(id);
      });
    } catch (e) {
      this.pxe = before; // the transaction rolled back; so does the in-memory copy
      throw e;
    }
    this.emit({ kind: 'pxe-options-changed' });
  }

  onChange(listener: (change: DhcpChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ---------------------------------------------------------------- administration (the shell's pages)

  addReservation(input: ReservationInput): StoredReservation {
    const added = this.mutate(() => this.store.add(input));
    this.emit({ kind: 'reservation-added', mac: added.mac });
    return added;
  }

  /**
   * Adds many reservations with one write of the files (the first start seeds the whole
   * directory: one write per reservation made that quadratic). Each input is checked on its own,
   * inside a savepoint, so a refused one is reported and skipped while the others are kept.
   */
  addReservations(inputs: readonly ReservationInput[]): { added: StoredReservation[]; refused: { input: ReservationInput; error: Error }[] } {
    const added: StoredReservation[] = [];
    const refused: { input: ReservationInput; error: Error }[] = [];
    this.mutate(() => {
      for (const input of inputs) {
        try {
          added.push(this.store.add(input));
        } catch (e) {
          refused.push({ input, error: e as Error });
        }
      }
    });
    for (const r of added) this.emit({ kind: 'reservation-added', mac: r.mac });
    return { added, refused };
  }

  /**
   * A new MAC is reported as removed + added, so listeners keyed by MAC (boot plans) drop the
   * old one; otherwise as updated.
   */
  updateReservation(mac: unknown, patch: Partial<ReservationInput>): StoredReservation {
    const { before, after } = this.mutate(() => this.store.update(mac, patch));
    if (before.mac.equals(after.mac)) this.emit({ kind: 'reservation-updated', mac: after.mac });
    else {
      this.emit({ kind: 'reservation-removed', mac: before.mac });
      this.emit({ kind: 'reservation-added', mac: after.mac });
    }
    return after;
  }

  removeReservation(mac: unknown): StoredReservation {
    const removed = this.mutate(() => this.store.remove(mac));
    this.emit({ kind: 'reservation-removed', mac: removed.mac });
    return removed;
  }

  suggestFreeIp(): Ipv4 | null {
    return this.store.suggestFreeIp();
  }

  /** The PXE options in force and which module set them. */
  activePxeBoot(): { readonly moduleId: string; readonly options: ValidPxeBoot } | null {
    const first = [...this.pxe.entries()].sort(([a], [b]) => a.localeCompare(b))[0];
    return first ? { moduleId: first[0], options: first[1] } : null;
  }

  renderDnsmasqConfig(): string {
    return renderDnsmasqConfig(this.opts.settings, { file: this.hostsPath }, this.activePxeBoot()?.options ?? null);
  }

  renderDnsmasqHosts(): string {
    return renderDnsmasqHosts(this.store.list());
  }

  /** The same configuration for ISC dhcpd, for sites that keep it (not written by the module). */
  renderIscConfig(): string {
    return renderIscDhcpdConfig(this.opts.settings, this.store.list(), this.activePxeBoot()?.options ?? null);
  }

  /** For the module's readiness checklist: is the generated configuration on disk and current? */
  configStatus(): DhcpConfigStatus {
    const read = (f: string) => {
      try {
        return fs.readFileSync(f, 'utf8');
      } catch {
        return null;
      }
    };
    const config = read(this.configPath);
    const upToDate = config === this.renderDnsmasqConfig() && read(this.hostsPath) === this.renderDnsmasqHosts();
    return { file: this.configPath, written: config !== null, upToDate, pxeBoot: this.activePxeBoot() !== null };
  }

  /** Writes both files where they differ from what is on disk, then calls the reload hook. The shell calls it at start. */
  writeConfig(): WriteResult {
    const result = this.writeFiles();
    this.reload(result);
    return result;
  }

  // ---------------------------------------------------------------- internals

  /**
   * Runs a database change and rewrites the files inside one transaction: if writing fails, the
   * change is rolled back, so the database never holds what dnsmasq was not told. (A failed
   * commit after a successful write is left to the next write to correct.)
   */
  private mutate<T>(change: () => T): T {
    let written: WriteResult = { configChanged: false, hostsChanged: false };
    const out = this.opts.db.transaction(() => {
      const value = change();
      written = this.writeFiles();
      return value;
    })();
    this.reload(written);
    return out;
  }

  private writeFiles(): WriteResult {
    fs.mkdirSync(path.dirname(this.configPath), { recursive: true });
    fs.mkdirSync(path.dirname(this.hostsPath), { recursive: true });
    // Hosts first: a restarted dnsmasq must find the file its new config names.
    const hostsChanged = writeIfChanged(this.hostsPath, this.renderDnsmasqHosts());
    const configChanged = writeIfChanged(this.configPath, this.renderDnsmasqConfig());
    return { configChanged, hostsChanged };
  }

  private reload(result: WriteResult): void {
    const hook = this.opts.reload;
    if (!hook || (!result.configChanged && !result.hostsChanged)) return;
    // The change is committed whatever happens here: a failed reload is logged, not thrown.
    const fail = (e: unknown) => this.opts.logger?.warn('dhcp: reloading the DHCP server failed', { error: String(e) });
    try {
      void Promise.resolve(hook(result)).catch(fail);
    } catch (e) {
      fail(e);
    }
  }

  private emit(change: DhcpChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (e) {
        // One faulty listener must not hide the change from the others nor fail the caller.
        this.opts.logger?.warn('dhcp: change listener failed', { kind: change.kind, error: String(e) });
      }
    }
  }

  private loadPxe(): void {
    for (const row of this.store.pxeOptionRows()) {
      try {
        this.pxe.set(row.moduleId, parsePxeBootOptions(row.json as Record<string, unknown>));
      } catch (e) {
        this.opts.logger?.warn('dhcp: ignoring stored PXE options that no longer validate', { moduleId: row.moduleId, error: String(e) });
      }
    }
    if (this.pxe.size > 1) this.opts.logger?.warn('dhcp: several modules hold PXE options; the first by id is used', { modules: [...this.pxe.keys()] });
  }
}

function parseModuleId(input: unknown): string {
  if (typeof input !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(input)) throw new InputError('moduleId: not a module id', 'moduleId');
  return input;
}

function writeIfChanged(file: string, content: string): boolean {
  let current: string | null = null;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (current === content) return false;
  writeFileAtomic(file, content);
  return true;
}
