import fs from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import type { Database } from 'better-sqlite3';
import type {
  Clock, DhcpApi, Directory, HookContext, HostContext, HostNetwork, HostUser, LifecycleHook, Locale,
  Logger, ModuleInstance, ModuleManifest, RegisterModule,
} from '../host/contract';
import { ConflictError, NotFoundError } from '../common/domain/errors';
import { shellMsg } from './i18n/shell-messages';
import { migrate } from '../common/store/migrations';
import { readManifest, resolveModuleFile } from './manifest';
import { SqliteSettingsStore } from './settings-store';
import type { SecretBox } from './secret-box';
import type { MenuItem, ShellWeb } from './shell-web';

/** Host modules that are built into the shell and always enabled (SE3's se3-dhcp plays this role). */
export const BUILTIN_MODULES: readonly string[] = ['dhcp'];

export interface ModuleStatus {
  readonly manifest: ModuleManifest;
  readonly root: string;
  readonly installed: boolean;
  readonly enabled: boolean;
  readonly running: boolean;
  readonly lastError: string | null;
}

export interface ModuleHostDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: (scope: string) => Logger;
  readonly directory: Directory;
  readonly dhcp: DhcpApi;
  readonly network: HostNetwork;
  readonly web: ShellWeb;
  readonly dataDir: string;
  readonly moduleSettings?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Seals the settings modules mark secret (manifest `secretSettings`). */
  readonly secrets: SecretBox;
}

interface Loaded {
  readonly manifest: ModuleManifest;
  readonly root: string;
  instance: ModuleInstance | null;
  router: Router | null;
  lastError: string | null;
}

/**
 * Loads module packages by their module.json, as a SambaEdu host would, and runs their
 * lifecycle: install → enable (hook, then register) → disable (stop, then hook) → uninstall.
 * Enabled state survives restarts; a module whose register() fails stays disabled with its error shown.
 */
export class ModuleHost {
  private readonly modules = new Map<string, Loaded>();

  constructor(private readonly deps: ModuleHostDeps) {
    migrate(deps.db, 'shell.modules', [
      {
        id: 1,
        name: 'modules',
        sql: `CREATE TABLE shell_modules (id TEXT PRIMARY KEY, installed INTEGER NOT NULL DEFAULT 0,
              enabled INTEGER NOT NULL DEFAULT 0, version TEXT, changed_at TEXT)`,
      },
    ]);
  }

  discover(roots: readonly string[]): void {
    for (const root of roots) {
      const manifest = readManifest(root);
      this.modules.set(manifest.id, { manifest, root, instance: null, router: null, lastError: null });
    }
  }

  list(): ModuleStatus[] {
    return [...this.modules.values()].map((m) => {
      const row = this.row(m.manifest.id);
      return {
        manifest: m.manifest,
        root: m.root,
        installed: row?.installed === 1,
        enabled: row?.enabled === 1,
        running: m.instance !== null,
        lastError: m.lastError,
      };
    });
  }

  /** Registers every module marked enabled (at shell start). Failures are logged, not fatal. */
  async startEnabled(): Promise<void> {
    for (const m of this.modules.values()) {
      if (this.row(m.manifest.id)?.enabled === 1) {
        await this.start(m).catch((e) => this.deps.logger('shell').error(`module ${m.manifest.id} failed to start`, { error: String(e) }));
      }
    }
  }

  async enable(id: string): Promise<void> {
    const m = this.get(id);
    for (const req of m.manifest.requires) {
      if (!BUILTIN_MODULES.includes(req) && !(this.modules.has(req) && this.row(req)?.enabled === 1)) {
        throw new ConflictError(`${m.manifest.name} requires the module "${req}", which is not enabled`, shellMsg('error.requiresModule', { name: m.manifest.name, requires: req }));
      }
    }
    if (this.row(id)?.installed !== 1) {
      await this.runHook(m, 'install');
      this.setRow(id, { installed: 1, version: m.manifest.version });
    }
    await this.runHook(m, 'enable');
    await this.start(m);
    this.setRow(id, { enabled: 1 });
  }

  async disable(id: string): Promise<void> {
    const m = this.get(id);
    await this.stop(m);
    await this.runHook(m, 'disable');
    this.setRow(id, { enabled: 0 });
  }

  async uninstall(id: string): Promise<void> {
    const m = this.get(id);
    if (this.row(id)?.enabled === 1) await this.disable(id);
    await this.runHook(m, 'uninstall');
    this.setRow(id, { installed: 0 });
  }

  async stopAll(): Promise<void> {
    for (const m of this.modules.values()) await this.stop(m);
  }

  /** Express middleware dispatching /modules/<id>/… to the running module's router. */
  readonly dispatch: express.RequestHandler = (req, res, next) => {
    const m = this.modules.get(req.params.moduleId as string);
    if (!m?.router) return next(new NotFoundError('no such module, or it is not enabled', shellMsg('error.noModule')));
    m.router(req, res, next);
  };

  /** Menu entries of running modules that the user holds the right for, in order. */
  async menuFor(user: HostUser, locale: Locale = 'fr'): Promise<MenuItem[]> {
    const items: MenuItem[] = [];
    for (const m of this.modules.values()) {
      if (!m.instance) continue;
      for (const e of m.manifest.menu) {
        if (await this.deps.web.rights.can(user, e.right)) {
          // English labels are optional in a manifest: a module without them stays French.
          const en = locale === 'en';
          const section = (en ? e.sectionEn ?? m.manifest.nameEn : undefined) ?? e.section ?? m.manifest.name;
          const label = (en ? e.labelEn : undefined) ?? e.label;
          items.push({ section, label, href: `/modules/${m.manifest.id}${e.path}`, order: e.order });
        }
      }
    }
    return items.sort((a, b) => a.order - b.order);
  }

  private async start(m: Loaded): Promise<void> {
    if (m.instance) return;
    const router = express.Router();
    const ctx = this.hostContext(m, router);
    try {
      const mod = require(resolveModuleFile(m.root, m.manifest.entry)) as { register?: RegisterModule };
      if (typeof mod.register !== 'function') throw new Error(`${m.manifest.entry} does not export register()`);
      m.instance = await mod.register(ctx);
      m.router = router;
      m.lastError = null;
    } catch (e) {
      m.lastError = (e as Error).message;
      throw e;
    }
  }

  private async stop(m: Loaded): Promise<void> {
    m.router = null;
    const inst = m.instance;
    m.instance = null;
    if (inst) await inst.stop();
  }

  private hookContext(m: Loaded): HookContext {
    const dataDir = path.join(this.deps.dataDir, 'modules', m.manifest.id);
    fs.mkdirSync(dataDir, { recursive: true });
    return {
      moduleId: m.manifest.id,
      moduleRoot: m.root,
      dataDir,
      db: this.deps.db,
      settings: new SqliteSettingsStore(
        this.deps.db,
        m.manifest.id,
        { ...m.manifest.settings, ...this.deps.moduleSettings?.[m.manifest.id] },
        m.manifest.secretSettings?.length ? { keys: new Set(m.manifest.secretSettings), box: this.deps.secrets } : null,
      ),
      logger: this.deps.logger(m.manifest.id),
      clock: this.deps.clock,
    };
  }

  private hostContext(m: Loaded, router: Router): HostContext {
    const web = this.deps.web;
    const pagesDir = path.join(m.root, 'pages');
    return {
      ...this.hookContext(m),
      directory: this.deps.directory,
      dhcp: this.deps.dhcp,
      network: this.deps.network,
      web: {
        router,
        mountPath: `/modules/${m.manifest.id}`,
        currentUser: (req) => web.currentUser(req),
        can: (user, right) => web.rights.can(user, right),
        parcsOf: (user, right) => web.rights.parcsOf(user, right),
        requireRight: (right) => web.requireRight(right),
        csrfToken: (req) => web.csrfToken(req),
        flash: (req, message) => web.flash(req, message),
        verifyCsrf: web.verifyCsrf,
        locale: (req) => web.locale(req),
        render: (req, res, view, locals) => web.renderPage(req, res, web.viewFile(pagesDir, view), locals),
      },
    };
  }

  private async runHook(m: Loaded, name: 'install' | 'enable' | 'disable' | 'uninstall'): Promise<void> {
    const rel = m.manifest.hooks[name];
    if (!rel) return;
    const mod = require(resolveModuleFile(m.root, rel)) as { default?: LifecycleHook; run?: LifecycleHook };
    const hook = mod.run ?? mod.default;
    if (typeof hook !== 'function') throw new Error(`hook ${rel} exports no run()`);
    await hook(this.hookContext(m));
  }

  private get(id: string): Loaded {
    const m = this.modules.get(id);
    if (!m) throw new NotFoundError(`unknown module ${id}`);
    return m;
  }

  private row(id: string): { installed: number; enabled: number } | undefined {
    return this.deps.db.prepare('SELECT installed, enabled FROM shell_modules WHERE id = ?').get(id) as
      | { installed: number; enabled: number }
      | undefined;
  }

  private setRow(id: string, fields: { installed?: number; enabled?: number; version?: string }): void {
    const now = this.deps.clock.now().toISOString();
    this.deps.db.prepare('INSERT OR IGNORE INTO shell_modules (id, changed_at) VALUES (?, ?)').run(id, now);
    for (const [k, v] of Object.entries(fields)) {
      this.deps.db.prepare(`UPDATE shell_modules SET ${k} = ?, changed_at = ? WHERE id = ?`).run(v, now, id);
    }
  }
}
