/**
 * The schedules page (issue 16 item 5): every schedule of the user's parcs with its rule in
 * words, next runs, creator and last result; pause, resume, delete (confirmed in the page).
 * parc_can_clone; a schedule outside the user's parcs is 403; POSTs check CSRF and redirect.
 */
import type { Request, Response } from 'express';
import type { HostContext } from '../../host/contract';
import type { ScheduleAdmin } from '../../actions/engine/schedule-admin';
import { cronInWords } from '../../actions/params/cron-words';
import { requestT } from '../../i18n/page-i18n';
import { clonePages, userOf, wrap } from './admin-kit';

export function registerScheduleRoutes(host: HostContext, admin: ScheduleAdmin): void {
  const { web, r, base, clone, post } = clonePages(host, { limit: '4kb', fields: 10 });
  const back = (req: Request, res: Response, flash: string) => res.redirect(303, `${base}/schedules?flash=${web.flash(req, flash)}`);

  r.get('/schedules', clone, wrap(async (req, res) => {
    const t = requestT(web, req);
    const schedules = (await admin.list(userOf(web, req))).map((s) => ({ ...s, words: cronInWords(s.cron, t) }));
    await web.render(req, res, 'schedules', { title: t('title.schedules'), schedules, base });
  }));

  r.post('/schedules/:id/pause', ...post, wrap(async (req, res) => {
    await admin.setEnabled(String(req.params.id), userOf(web, req), false);
    back(req, res, requestT(web, req)('flash.schedulePaused'));
  }));

  r.post('/schedules/:id/resume', ...post, wrap(async (req, res) => {
    await admin.setEnabled(String(req.params.id), userOf(web, req), true);
    back(req, res, requestT(web, req)('flash.scheduleResumed'));
  }));

  r.post('/schedules/:id/delete', ...post, wrap(async (req, res) => {
    await admin.delete(String(req.params.id), userOf(web, req));
    back(req, res, requestT(web, req)('flash.scheduleDeleted'));
  }));
}
