import type { NextFunction, Request, Response } from 'express';
import type { HostContext } from '../../host/contract';
import { InputError } from '../../common/domain/errors';
import type { BootReadiness } from '../../boot/boot-readiness';
import { MAINTENANCE_ENTRIES, type MaintenanceEntry } from '../../boot/menu-settings';
import type { ToolkitRegistry } from '../../toolkits/toolkit-registry';
import type { ToolkitInstaller } from '../../toolkits/toolkit-installer';
import { requestT, withPageI18n } from '../../i18n/page-i18n';
import { ModuleSettings } from '../../settings/module-settings';
import { CLEAR_SUFFIX, configView, parseConfigForm } from '../../settings/config-form';
import { ACCOUNTS, type AccountName, needsServer, OUTCOME_MESSAGES, testAccount } from '../../settings/account-check';
import type { AccountCheckOptions } from '../../samba/account-check';
import { translateRef, type ModuleTranslate } from '../../i18n/module-messages';
import { overall, type Readiness, type ReadinessItem } from '../../readiness/readiness';

/** A readiness item in the reader's language, ready for pages/partials/readiness.ejs. */
export function translatedItem(t: ModuleTranslate, i: ReadinessItem) {
  const tr = (ref: ReadinessItem['label']) => translateRef(t, ref) ?? ref.key;
  return { id: i.id, level: i.level, label: tr(i.label), detail: tr(i.detail), fix: i.fix ? tr(i.fix) : null };
}

export { parseConfigForm } from '../../settings/config-form';

/** The posted form without any password field (the page shows it again after an error). */
function withoutPasswords(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !/password/i.test(k)));
}

function entriesOf(v: unknown): MaintenanceEntry[] {
  const arr = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return arr.filter((e): e is MaintenanceEntry => typeof e === 'string' && MAINTENANCE_ENTRIES.includes(e as MaintenanceEntry));
}

/** What an account test said, shown in its fieldset. */
interface AccountTestView {
  readonly account: AccountName;
  readonly ok: boolean;
  readonly message: string;
}

/**
 * The module's Configuration page (system_is_admin): the readiness checklist, every setting
 * declared in src/settings/ grouped per feature, the account tests, the job toolkit and the
 * toolkits. `boot`: the boot service (per-firmware readiness; DHCP boot files offered again when
 * a boot.* setting changed, e.g. the UEFI chain). `accountCheck`: for tests (runner).
 */
/** What the page needs of the boot service (src/boot/boot-service.ts). */
export interface BootConfigHooks {
  readiness(): BootReadiness;
  /** Hands the DHCP module the boot files of the current settings. */
  applyPxeOptions(): void;
}

export function registerConfigRoutes(host: HostContext, toolkits: ToolkitRegistry, installer: ToolkitInstaller, readiness: Readiness,
  boot?: BootConfigHooks, accountCheck: AccountCheckOptions = {}): void {
  const web = withPageI18n(host.web);
  const r = web.router;
  const admin = web.requireRight('system_is_admin');
  const settings = new ModuleSettings(host.settings);
  const render = async (req: Request, res: Response, errors: Record<string, string>, form: Record<string, unknown> = {}, tested: AccountTestView | null = null) => {
    const t = requestT(web, req);
    const items = await readiness.items();
    await web.render(req, res, 'config', {
      // Passwords never reach a view: configView gives only whether one is stored.
      title: t('title.config'), groups: configView(host.settings, t, form, errors), errors, form: withoutPasswords(form), tested,
      clearSuffix: CLEAR_SUFFIX, needsServer,
      toolkits: toolkits.list(), jobs: installer.list(), entries: MAINTENANCE_ENTRIES,
      readiness: { overall: overall(items), items: items.map((i) => translatedItem(t, i)) },
      jobToolkit: settings.jobToolkit(), base: web.mountPath,
      bootModes: boot?.readiness().modes ?? [],
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
    // The DHCP boot file per firmware mode depends on boot.uefiChain and boot.ipxeHttpScript.
    if (Object.keys(changes).some((k) => k.startsWith('boot.'))) boot?.applyPxeOptions();
    done(req, res, requestT(web, req)('flash.configSaved'));
  });

  // "Tester le compte": the saved account, checked by a real smbclient session (src/samba/account-check.ts).
  r.post('/config/accounts/:account/test', admin, web.verifyCsrf, (req: Request, res: Response, next: NextFunction) => {
    const account = String(req.params.account) as AccountName;
    if (!ACCOUNTS.includes(account)) {
      next();
      return;
    }
    const typed = typeof req.body?.server === 'string' && needsServer(account) ? req.body.server : '';
    testAccount(settings, account, typed, accountCheck).then(async ({ outcome, server }) => {
      host.logger.info('account tested', { by: web.currentUser(req)?.login, account, server, outcome });
      const message = requestT(web, req)(OUTCOME_MESSAGES[outcome], { server });
      await render(req, res, {}, {}, { account, ok: outcome === 'ok', message });
    }).catch(next);
  });

  /** The toolkit job plans boot (setting toolkit.default): one that carries the agent. */
  r.post('/config/job-toolkit', admin, web.verifyCsrf, (req: Request, res: Response, next: NextFunction) => {
    const name = String((req.body ?? {}).jobToolkit ?? '');
    const t = requestT(web, req);
    if (!toolkits.refresh().some((tk) => tk.name === name && tk.runsJobs)) {
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
