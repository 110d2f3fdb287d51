import type { NextFunction, Request, Response } from 'express';
import type { HostContext } from '../host/contract';
import { InputError } from '../domain/errors';
import { hashMenuPassword } from '../boot/menu-password';
import { MAX_TIMEOUT_SECONDS, MENU_SETTING_KEYS } from '../boot/menu-settings';
import type { ToolkitRegistry } from '../toolkits/toolkit-registry';

export interface ConfigFormResult {
  readonly changes: Record<string, unknown>;
  readonly errors: Record<string, string>;
}

/** Validates the configuration form: every field checked, nothing saved unless all are valid. */
export function parseConfigForm(body: Record<string, unknown>): ConfigFormResult {
  const errors: Record<string, string> = {};
  const changes: Record<string, unknown> = {};
  const mode = body.menuMode;
  if (mode === 'text' || mode === 'graphical') changes[MENU_SETTING_KEYS.mode] = mode;
  else errors.menuMode = 'choisir « texte » ou « graphique »';
  const t = String(body.menuTimeoutSeconds ?? '');
  if (/^\d{1,3}$/.test(t) && Number(t) <= MAX_TIMEOUT_SECONDS) changes[MENU_SETTING_KEYS.timeoutSeconds] = Number(t);
  else errors.menuTimeoutSeconds = `un nombre entier de secondes entre 0 et ${MAX_TIMEOUT_SECONDS}`;
  const pw = body.maintenancePassword;
  if (typeof pw === 'string' && pw !== '') {
    try {
      // only the hash is kept: the cleartext never reaches the database, a boot file or a log
      changes[MENU_SETTING_KEYS.maintenancePasswordHash] = hashMenuPassword(pw);
    } catch (e) {
      errors.maintenancePassword = e instanceof InputError ? e.message.replace(/^password: /, '') : 'mot de passe refusé';
    }
  }
  return { changes, errors };
}

/** The module's Configuration page (system_is_admin): boot menu settings and installed toolkits. */
export function registerConfigRoutes(host: HostContext, toolkits: ToolkitRegistry): void {
  const { web } = host;
  const admin = web.requireRight('system_is_admin');
  const render = (req: Request, res: Response, errors: Record<string, string>) =>
    web.render(req, res, 'config', { title: 'Configuration du clonage', settings: host.settings.all(), errors, toolkits: toolkits.list() });

  web.router.get('/config', admin, (req: Request, res: Response, next: NextFunction) => {
    render(req, res, {}).catch(next);
  });

  web.router.post('/config', admin, web.verifyCsrf, (req: Request, res: Response, next: NextFunction) => {
    const { changes, errors } = parseConfigForm(req.body ?? {});
    if (Object.keys(errors).length) {
      res.status(400);
      render(req, res, errors).catch(next);
      return;
    }
    for (const [k, v] of Object.entries(changes)) host.settings.set(k, v);
    host.logger.info('configuration changed', { by: web.currentUser(req)?.login, keys: Object.keys(changes) });
    res.redirect(303, `${web.mountPath}/config?flash=${encodeURIComponent('Configuration enregistrée')}`);
  });
}
