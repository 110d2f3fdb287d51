import type { Express, Request, Response } from 'express';
import type { Database } from 'better-sqlite3';
import type { Clock, Directory, Logger } from '../host/contract';
import { InputError } from '../common/domain/errors';
import type { ShellConfig } from './config';
import { parseDhcpSettings } from './dhcp/dhcp-config';
import { DhcpModule } from './dhcp/dhcp-module';
import { sighupReloader } from './dhcp/files';
import type { ShellWeb } from './shell-web';
import { translateShellRef } from './i18n/shell-messages';

export interface ShellDhcp {
  readonly api: DhcpModule;
  /** Demo data: reserve every directory computer that has a valid MAC and IP (first start only). */
  seedFromDirectory(directory: Directory): Promise<number>;
  routes(app: Express, web: ShellWeb): void;
}

/** The shell's DHCP module (SE3's se3-dhcp): reservations, generated dnsmasq config, its admin page. */
export function createDhcp(db: Database, config: ShellConfig, clock: Clock, logger: Logger): ShellDhcp {
  const settings = parseDhcpSettings({
    interface: config.dhcp.interface,
    subnet: config.dhcp.subnet,
    gateway: config.dhcp.gateway,
    dynamicRange: config.dhcp.dynamicRange,
  });
  const api = new DhcpModule({
    db,
    settings,
    clock,
    configPath: config.dhcp.configFile,
    logger,
    reload: config.dhcp.pidFile ? sighupReloader(config.dhcp.pidFile, logger) : undefined,
  });
  api.writeConfig();

  return {
    api,
    async seedFromDirectory(directory) {
      if (api.listReservations().length > 0) return 0;
      const inputs = (await directory.listComputers())
        .filter((c) => c.mac && c.ip)
        .map((c) => ({ mac: c.mac!.toString(), ip: c.ip!.toString(), name: c.name }));
      const { added, refused } = api.addReservations(inputs);
      for (const r of refused) logger.warn('reservation not seeded', { name: r.input.name, reason: r.error.message });
      const n = added.length;
      logger.info('reservations seeded from directory', { count: n });
      return n;
    },
    routes(app, web) {
      const admin = web.requireRight('system_is_admin');
      const page = async (req: Request, res: Response, errors: Record<string, string>, form: Record<string, string>) =>
        web.renderShell(req, res, 'dhcp', {
          title: web.t(req)('title.dhcp'),
          reservations: api.listReservations(),
          suggested: api.suggestFreeIp()?.toString() ?? '',
          configPath: api.configPath,
          errors,
          form,
        });
      app.get('/dhcp', admin, (req, res, next) => {
        page(req, res, {}, {}).catch(next);
      });
      app.post('/dhcp/reservations', admin, web.verifyCsrf, async (req, res, next) => {
        const form = { mac: String(req.body?.mac ?? ''), ip: String(req.body?.ip ?? ''), name: String(req.body?.name ?? '') };
        try {
          const r = api.addReservation(form);
          res.redirect(303, `/dhcp?flash=${web.flash(req, web.t(req)('dhcp.flash.added', { name: String(r.name), ip: String(r.ip), mac: String(r.mac) }))}`);
        } catch (e) {
          const field = (e as InputError).field;
          if (!(e instanceof Error) || !field) return next(e);
          res.status((e as { constructor: { name: string } }).constructor.name === 'DhcpConflictError' ? 409 : 400);
          // shown in the reader's language when the error carries a catalog message, else as written
          const ref = (e as InputError).ref;
          const shown = (ref && translateShellRef(web.locale(req), ref)) ?? e.message;
          await page(req, res, { [field]: shown }, form).catch(next);
        }
      });
      app.post('/dhcp/reservations/:mac/delete', admin, web.verifyCsrf, (req, res, next) => {
        try {
          const r = api.removeReservation(req.params.mac);
          res.redirect(303, `/dhcp?flash=${web.flash(req, web.t(req)('dhcp.flash.removed', { name: String(r.name) }))}`);
        } catch (e) {
          next(e);
        }
      });
    },
  };
}
