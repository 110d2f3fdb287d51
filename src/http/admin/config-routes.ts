import type { NextFunction, Request, Response } from 'express';
import type { HostContext } from '../../host/contract';
import { InputError } from '../../common/domain/errors';
import { checkMenuPassword, hashMenuPassword } from '../../boot/menu-password';
import { hashGrubPassword } from '../../boot/grub-password';
import type { BootReadiness } from '../../boot/boot-readiness';
import { MAINTENANCE_ENTRIES, MAX_TIMEOUT_SECONDS, MENU_SETTING_KEYS, type MaintenanceEntry } from '../../boot/menu-settings';
import { MAX_WAIT_MINUTES, parseAutoReboot, parseBoundedInt, parseCloneDomain, parseCompression, parseDisk } from '../../actions/params/clone-params';
import { DEPLOY_SETTING_CHECKS, DEPLOY_SETTING_MESSAGES } from '../../deploy/udp-sender-command';
import type { ToolkitRegistry } from '../../toolkits/toolkit-registry';
import type { ToolkitInstaller } from '../../toolkits/toolkit-installer';
import { moduleTranslator, translateRef, type ModuleTranslate } from '../../i18n/module-messages';
import { requestT, withPageI18n } from '../../i18n/page-i18n';
import { isStore } from '../../actions/params/store-params';
import { parseSmbForm, SMB_KEYS, smbPublicView } from '../../images/smb-settings';
import { overall, type Readiness, type ReadinessItem } from '../../readiness/readiness';
import { jobToolkitName } from '../../readiness/readiness-facts';

/** A readiness item in the reader's language, ready for pages/partials/readiness.ejs. */
export function translatedItem(t: ModuleTranslate, i: ReadinessItem) {
  const tr = (ref: ReadinessItem['label']) => translateRef(t, ref) ?? ref.key;
  return { id: i.id, level: i.level, label: tr(i.label), detail: tr(i.detail), fix: i.fix ? tr(i.fix) : null };
}

export interface ConfigFormResult {
  readonly changes: Record<string, unknown>;
  readonly errors: Record<string, string>;
}

/**
 * Validates the configuration form: every field checked, nothing saved unless all are valid.
 * Messages are in the language of `t` (French by default, as the page was).
 */
export function parseConfigForm(
  body: Record<string, unknown>,
  current: { getOr<T>(k: string, f: T): T },
  t: ModuleTranslate = moduleTranslator('fr'),
): ConfigFormResult {
  const errors: Record<string, string> = {};
  const changes: Record<string, unknown> = {};
  const field = (name: string, key: string, parse: () => unknown) => {
    try {
      changes[key] = parse();
    } catch (e) {
      if (!(e instanceof InputError)) errors[name] = t('config.error.refused');
      else errors[name] = (e.ref ? translateRef(t, e.ref) : null) ?? e.message.replace(/^[a-z_.]+: /i, '');
    }
  };
  const mode = body.menuMode;
  if (mode === 'text' || mode === 'graphical') changes[MENU_SETTING_KEYS.mode] = mode;
  else errors.menuMode = t('config.error.menuMode');
  const timeout = String(body.menuTimeoutSeconds ?? '');
  if (/^\d{1,3}$/.test(timeout) && Number(timeout) <= MAX_TIMEOUT_SECONDS) changes[MENU_SETTING_KEYS.timeoutSeconds] = Number(timeout);
  else errors.menuTimeoutSeconds = t('config.error.timeout', { max: MAX_TIMEOUT_SECONDS });
  const pw = body.maintenancePassword;
  if (typeof pw === 'string' && pw !== '') {
    // only the hash is kept: the cleartext never reaches the database, a boot file or a log
    const checked = (): string => checkMenuPassword(pw);
    field('maintenancePassword', MENU_SETTING_KEYS.maintenancePasswordHash, () => hashMenuPassword(checked()));
    // the network GRUB (UEFI) has no crypt(3): it gets its own PBKDF2 hash of the same password
    field('maintenancePassword', MENU_SETTING_KEYS.grubPasswordHash, () => hashGrubPassword(checked()));
  }
  // Defaults offered by the wizard (SE3's pref_clonage_*), validated by the same parsers as an action.
  if (body.cloneDisk !== undefined) {
    // the form's fields under the names the action parsers read
    const raw: Record<string, unknown> = {
      disk: body.cloneDisk, compression: body.cloneCompression, auto_reboot: body.cloneAutoReboot, domain: body.cloneDomain,
      min_wait: body.cloneMinWait, max_wait: body.cloneMaxWait, start_timeout: body.cloneStartTimeout,
    };
    field('cloneDisk', 'clone.disk', () => parseDisk(raw, current.getOr('clone.disk', 'sda')));
    field('cloneCompression', 'clone.compression', () => parseCompression(raw, 'zstd'));
    field('cloneAutoReboot', 'clone.autoReboot', () => parseAutoReboot(raw, 'always'));
    field('cloneDomain', 'clone.domain', () => parseCloneDomain(raw, 'none'));
    field('cloneMinWait', 'clone.minWaitMinutes', () => parseBoundedInt(raw, 'min_wait', 10, 0, MAX_WAIT_MINUTES));
    field('cloneMaxWait', 'clone.maxWaitMinutes', () => parseBoundedInt(raw, 'max_wait', 15, 1, MAX_WAIT_MINUTES));
    field('cloneStartTimeout', 'clone.startTimeoutMinutes', () => parseBoundedInt(raw, 'start_timeout', 20, 1, MAX_WAIT_MINUTES));
    const min = changes['clone.minWaitMinutes'] as number;
    const max = changes['clone.maxWaitMinutes'] as number;
    const start = changes['clone.startTimeoutMinutes'] as number;
    if (!errors.cloneMaxWait && max < min) errors.cloneMaxWait = t('config.error.maxBelowMin');
    if (!errors.cloneStartTimeout && start < max) errors.cloneStartTimeout = t('config.error.timeoutBelowMax');
    const ret = String(body.backupRetention ?? '');
    if (/^(all|keep-last-(?:[1-9]|[1-9]\d)|older-than-(?:[1-9]|1\d|2[0-4])-months)$/.test(ret)) changes['backup.retention'] = ret;
    else errors.backupRetention = t('config.error.retention');
    const wake = String(body.wakeMethod ?? '');
    if (['wol', 'reboot', 'wol+reboot'].includes(wake)) changes['wake.method'] = wake;
    else errors.wakeMethod = t('config.error.wake');
  }
  // Multicast deploy (src/deploy/), checked by the sender's own rules; fields in pages/partials/deploy-config.ejs.
  if (body.deployInterface !== undefined) {
    const form = { 'deploy.interface': ['deployInterface', String(body.deployInterface).trim()],
      'deploy.maxBitrate': ['deployMaxBitrate', String(body.deployMaxBitrate ?? '').trim()],
      'deploy.retriesUntilDrop': ['deployRetries', /^\d{1,4}$/.test(String(body.deployRetries ?? '')) ? Number(body.deployRetries) : NaN] } as const;
    for (const [key, [name, value]] of Object.entries(form)) {
      const why = DEPLOY_SETTING_CHECKS[key as keyof typeof form](value);
      if (why) errors[name] = t(DEPLOY_SETTING_MESSAGES[key as keyof typeof form]);
      else changes[key] = value;
    }
  }
  // Image storage (pages/partials/config-storage.ejs): default target and the SMB share.
  if (body.backupTarget !== undefined) {
    if (isStore(body.backupTarget)) changes['backup.target'] = body.backupTarget;
    else errors.backupTarget = t('config.error.backupTarget');
  }
  if (body.smbServer !== undefined) {
    const smb = parseSmbForm(body, t);
    Object.assign(changes, smb.changes);
    Object.assign(errors, smb.errors);
  }
  return { changes, errors };
}

function withoutSecrets(o: Record<string, unknown>): Record<string, unknown> {
  const { [SMB_KEYS.password]: _s, smbPassword: _f, ...rest } = o;
  return rest;
}

function entriesOf(v: unknown): MaintenanceEntry[] {
  const arr = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return arr.filter((e): e is MaintenanceEntry => typeof e === 'string' && MAINTENANCE_ENTRIES.includes(e as MaintenanceEntry));
}

/** The module's Configuration page (system_is_admin): boot menu, wizard defaults, toolkits. */
export function registerConfigRoutes(host: HostContext, toolkits: ToolkitRegistry, installer: ToolkitInstaller, readiness: Readiness, bootModes?: () => BootReadiness): void {
  const web = withPageI18n(host.web);
  const r = web.router;
  const admin = web.requireRight('system_is_admin');
  const render = async (req: Request, res: Response, errors: Record<string, string>, form: Record<string, unknown> = {}) => {
    const t = requestT(web, req);
    const items = await readiness.items();
    await web.render(req, res, 'config', {
      // The SMB password never reaches a view: only whether one is stored (smb.hasPassword).
      title: t('title.config'), settings: withoutSecrets(host.settings.all()), errors, form: withoutSecrets(form),
      smb: smbPublicView(host.settings),
      toolkits: toolkits.list(), jobs: installer.list(), entries: MAINTENANCE_ENTRIES,
      readiness: { overall: overall(items), items: items.map((i) => translatedItem(t, i)) },
      jobToolkit: jobToolkitName(host.settings), base: web.mountPath,
      bootModes: bootModes?.().modes ?? [],
    });
  };
  const done = (req: Request, res: Response, flash: string) => res.redirect(303, `${web.mountPath}/config?flash=${web.flash(req, flash)}`);

  r.get('/config', admin, (req: Request, res: Response, next: NextFunction) => {
    render(req, res, {}).catch(next);
  });

  r.post('/config', admin, web.verifyCsrf, (req: Request, res: Response, next: NextFunction) => {
    const { changes, errors } = parseConfigForm(req.body ?? {}, host.settings, requestT(web, req));
    if (Object.keys(errors).length) {
      res.status(400);
      render(req, res, errors, req.body ?? {}).catch(next);
      return;
    }
    for (const [k, v] of Object.entries(changes)) host.settings.set(k, v);
    host.logger.info('configuration changed', { by: web.currentUser(req)?.login, keys: Object.keys(changes) }); // keys only, never values
    done(req, res, requestT(web, req)('flash.configSaved'));
  });

  /** The toolkit job plans boot (setting toolkit.default): one that carries the agent. */
  r.post('/config/job-toolkit', admin, web.verifyCsrf, (req: Request, res: Response, next: NextFunction) => {
    const name = String((req.body ?? {}).jobToolkit ?? '');
    const t = requestT(web, req);
    if (!toolkits.list().some((tk) => tk.name === name && tk.runsJobs)) {
      res.status(400);
      render(req, res, { jobToolkit: t('config.jobToolkit.error') }).catch(next);
      return;
    }
    host.settings.set('toolkit.default', name);
    host.logger.info('configuration changed', { by: web.currentUser(req)?.login, keys: ['toolkit.default'] });
    done(req, res, t('flash.jobToolkitSaved', { name }));
  });

  r.post('/config/toolkits/build', admin, web.verifyCsrf, (req: Request, res: Response, next: NextFunction) => {
    try {
      const job = installer.build();
      res.redirect(303, `${web.mountPath}/config?job=${job.id}#toolkits`);
    } catch (e) {
      next(e);
    }
  });

  r.post('/config/toolkits/download', admin, web.verifyCsrf, (req: Request, res: Response, next: NextFunction) => {
    const b = req.body ?? {};
    try {
      const job = installer.download({
        name: String(b.name ?? ''), version: String(b.version ?? ''), entries: entriesOf(b.entries),
        kernelUrl: String(b.kernelUrl ?? ''), kernelSha256: String(b.kernelSha256 ?? ''),
        initrdUrl: b.initrdUrl ? String(b.initrdUrl) : null, initrdSha256: b.initrdSha256 ? String(b.initrdSha256) : null,
      });
      res.redirect(303, `${web.mountPath}/config?job=${job.id}#toolkits`);
    } catch (e) {
      if (e instanceof InputError && e.field) {
        res.status(400);
        render(req, res, { [`dl_${e.field}`]: e.message }, b).catch(next);
        return;
      }
      next(e);
    }
  });

  r.post('/config/toolkits/:name/remove', admin, web.verifyCsrf, (req: Request, res: Response, next: NextFunction) => {
    installer.remove(String(req.params.name)).then(() => done(req, res, requestT(web, req)('flash.toolkitRemoved', { name: String(req.params.name) })), next);
  });

  r.get('/config/toolkits/jobs/:id', admin, (req: Request, res: Response, next: NextFunction) => {
    try {
      const j = installer.job(String(req.params.id));
      res.set('cache-control', 'no-store').json({ id: j.id, toolkit: j.toolkit, state: j.state, percent: j.percent, lines: j.lines.slice(-30) });
    } catch (e) {
      next(e);
    }
  });
}
