/**
 * The image library page (issue 16 item 3): list, delete (confirmed; the last good image needs a
 * second, explicit confirmation), rename, protect from retention. parc_can_clone, and only images
 * of machines in the user's parcs (403 otherwise); every POST checks CSRF and redirects (PRG).
 */
import type { Request, Response } from 'express';
import type { HostContext } from '../../host/contract';
import { ConflictError, InputError, NotFoundError } from '../../common/domain/errors';
import type { ImageLibrary } from '../../images/image-library';
import { parseRetention } from '../../images/retention';
import type { MachineInventory } from '../../inventory/machine-inventory';
import { translateRef, type ModuleTranslate } from '../../i18n/module-messages';
import { requestT } from '../../i18n/page-i18n';
import { visibleMacs } from './visible-macs';
import { clonePages, userOf, wrap } from './admin-kit';
import { ModuleSettings } from '../../settings/module-settings';


function imageId(req: Request): number {
  const raw = String(req.params.id);
  if (!/^\d{1,12}$/.test(raw)) throw new NotFoundError('no such image');
  return Number(raw);
}

/** The retention setting in words ("conserver les 3 dernières"), never its code. */
export function retentionInWords(t: ModuleTranslate, value: unknown): string {
  const p = parseRetention(value);
  if (!p || p.kind === 'all') return t('retention.all');
  return p.kind === 'keep-last' ? t('retention.keepLast', { count: p.count }) : t('retention.olderThan', { months: p.months });
}

export function registerImageLibraryRoutes(deps: { host: HostContext; library: ImageLibrary; inventory: MachineInventory }): void {
  const { host, library, inventory } = deps;
  const { web, r, base, clone, post } = clonePages(host, { limit: '8kb', fields: 20 });
  const back = (req: Request, res: Response, flash: string) => res.redirect(303, `${base}/images?flash=${web.flash(req, flash)}`);
  /** A refusal the admin can act on (last image, in use, bad name): said on the list, translated. */
  const refused = (req: Request, res: Response, e: unknown) => {
    if (!(e instanceof ConflictError || e instanceof InputError) || !e.ref) throw e;
    back(req, res, translateRef(requestT(web, req), e.ref) ?? e.message);
  };

  r.get('/images', clone, wrap(async (req, res) => {
    const t = requestT(web, req);
    const visible = await visibleMacs(web, inventory, req);
    const machine = typeof req.query.machine === 'string' && /^[A-Za-z0-9-]{1,15}$/.test(req.query.machine) ? req.query.machine.toLowerCase() : '';
    const images = library.list(visible).filter((i) => !machine || i.machine === machine);
    await web.render(req, res, 'images', {
      title: t('title.images'), images, machine, stores: await library.stores(), base,
      policy: retentionInWords(t, new ModuleSettings(host.settings).storage().retention ?? 'all'),
    });
  }));

  r.post('/images/:id/delete', ...post, wrap(async (req, res) => {
    const id = imageId(req);
    const visible = await visibleMacs(web, inventory, req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const img = library.get(id, visible);
    if (body.confirm !== '1') {
      // the confirmation step: nothing is deleted by the first POST
      await web.render(req, res, 'image-delete', { title: requestT(web, req)('library.delete'), image: img, base });
      return;
    }
    try {
      await library.delete(id, visible, userOf(web, req).login, body.confirmLast === '1');
      back(req, res, requestT(web, req)('flash.imageDeleted', { image: img.image, machine: img.machine }));
    } catch (e) {
      refused(req, res, e);
    }
  }));

  r.post('/images/:id/rename', ...post, wrap(async (req, res) => {
    const id = imageId(req);
    const visible = await visibleMacs(web, inventory, req);
    try {
      const done = await library.rename(id, visible, userOf(web, req).login, (req.body ?? {}).name);
      back(req, res, requestT(web, req)('flash.imageRenamed', done));
    } catch (e) {
      refused(req, res, e);
    }
  }));

  r.post('/images/:id/protect', ...post, wrap(async (req, res) => {
    const id = imageId(req);
    const on = (req.body ?? {}).on === '1';
    const img = library.protect(id, await visibleMacs(web, inventory, req), userOf(web, req).login, on);
    back(req, res, requestT(web, req)(on ? 'flash.imageProtected' : 'flash.imageUnprotected', { image: img.image }));
  }));
}
