/**
 * Images and schedules through the API: the image library (ImageLibrary: list, delete with the
 * last-good-image rule, rename, protect) and the schedules (ScheduleAdmin: list, pause, resume,
 * delete; created through ActionService like the wizard's recurring actions). Only images of
 * machines in the caller's parcs, only schedules whose parcs are all theirs.
 */
import type { Request, Response, Router } from 'express';
import { InputError, NotFoundError } from '../../common/domain/errors';
import { msg } from '../../i18n/module-messages';
import type { LibraryImage } from '../../images/image-library';
import { visibleMacsOf } from '../admin/visible-macs';
import { apiUser } from './token-auth';
import { actionInputOf } from './api-action-routes';
import type { ApiDeps } from './api-deps';

function imageIdOf(req: Request): number {
  const raw = String(req.params.id);
  if (!/^\d{1,12}$/.test(raw)) throw new NotFoundError('no such image', msg('library.missing'));
  return Number(raw);
}

function imageJson(i: LibraryImage) {
  return {
    id: i.id, machine: i.machine, mac: i.mac, name: i.image, createdAt: i.createdAt, sizeBytes: i.sizeBytes, store: i.location,
    verifiedBy: i.verifiedBy, retention: i.retention, protected: i.retention === 'protected', manageable: i.manageable,
  };
}

/** Only the listed fields, each of the given JSON type: a mistyped or unknown field is a 400 naming it. */
function fieldsOf(body: unknown, types: Readonly<Record<string, 'string' | 'boolean'>>): Record<string, unknown> {
  const b = (body ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(b)) {
    const f = k.slice(0, 40);
    if (!(k in types) || typeof v !== types[k]) throw new InputError(`${f}: ${k in types ? `${types[k]} expected` : 'unknown field'}`, f, msg('api.field', { field: f }));
  }
  return b;
}

export function registerApiLibraryRoutes(api: Router, deps: ApiDeps): void {
  const { web, inventory, library, schedules } = deps;
  const visible = (res: Response) => visibleMacsOf(web, inventory, apiUser(res));

  api.get('/images', async (req, res) => {
    const q = fieldsOf(req.query, { machine: 'string' });
    const machine = typeof q.machine === 'string' ? q.machine.toLowerCase() : '';
    res.json(library.list(await visible(res)).filter((i) => !machine || i.machine === machine).map(imageJson));
  });

  api.delete('/images/:id', async (req, res) => {
    const id = imageIdOf(req);
    const q = fieldsOf(req.query, { confirmLast: 'string' });
    if (q.confirmLast !== undefined && !['0', '1'].includes(q.confirmLast as string)) throw new InputError('confirmLast: 0 or 1', 'confirmLast', msg('api.badQuery', { field: 'confirmLast' }));
    const gone = await library.delete(id, await visible(res), apiUser(res).login, q.confirmLast === '1');
    res.json({ deleted: imageJson(gone) });
  });

  api.post('/images/:id/rename', async (req, res) => {
    const id = imageIdOf(req);
    const body = fieldsOf(req.body, { name: 'string' });
    const shown = await visible(res);
    await library.rename(id, shown, apiUser(res).login, body.name);
    res.json({ image: imageJson(library.get(id, shown)) });
  });

  api.post('/images/:id/protect', async (req, res) => {
    const id = imageIdOf(req);
    const body = fieldsOf(req.body, { protected: 'boolean' });
    if (body.protected === undefined) throw new InputError('protected: true or false', 'protected', msg('api.field', { field: 'protected' }));
    const shown = await visible(res);
    library.protect(id, shown, apiUser(res).login, body.protected === true);
    res.json({ image: imageJson(library.get(id, shown)) });
  });

  const scheduleJson = async (res: Response, id: string) => (await schedules.list(apiUser(res))).find((s) => s.id === id) ?? null;

  api.get('/schedules', async (_req, res) => {
    res.json(await schedules.list(apiUser(res)));
  });

  api.post('/schedules', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    if (body.start !== undefined && body.start !== 'cron') throw new InputError('start: a schedule starts by its cron rule', 'start', msg('api.scheduleStart'));
    const input = actionInputOf({ ...body, start: 'cron' });
    const created = await deps.actions.create(apiUser(res), input);
    res.status(201).json({ schedule: await scheduleJson(res, created.id) });
  });

  for (const [op, enabled] of [['pause', false], ['resume', true]] as const) {
    api.post(`/schedules/:id/${op}`, async (req, res) => {
      const id = String(req.params.id);
      await schedules.setEnabled(id, apiUser(res), enabled);
      res.json({ schedule: await scheduleJson(res, id) });
    });
  }

  api.delete('/schedules/:id', async (req, res) => {
    const id = String(req.params.id);
    await schedules.delete(id, apiUser(res));
    res.json({ deleted: id });
  });
}
