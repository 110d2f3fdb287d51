/**
 * The "Jetons d'API" page (issue 17): an admin creates a token (shown once, on the answer to the
 * POST: it is never stored in clear, so there is nothing to redirect to) and revokes their own.
 * A system admin sees every admin's tokens and may revoke any (someone left the school).
 * parc_can_clone; POSTs check CSRF; the page is never cached (it may hold a fresh token).
 */
import type { Request, Response } from 'express';
import type { HostContext } from '../../host/contract';
import { InputError } from '../../common/domain/errors';
import { translateRef } from '../../i18n/module-messages';
import { requestT } from '../../i18n/page-i18n';
import type { ApiTokens } from '../api/api-tokens';
import { clonePages, userOf } from './admin-kit';

export function registerTokenRoutes(host: HostContext, tokens: ApiTokens): void {
  const { web, r, base, clone, post } = clonePages(host, { limit: '4kb', fields: 10 });
  const isAdmin = (req: Request) => web.can(userOf(web, req), 'system_is_admin');

  async function page(req: Request, res: Response, extra: { created?: { label: string; token: string }; error?: string; label?: string } = {}) {
    const all = await isAdmin(req);
    res.set('Cache-Control', 'no-store');
    await web.render(req, res, 'tokens', {
      title: requestT(web, req)('title.tokens'), base, showOwner: all, tokens: tokens.list(all ? null : userOf(web, req).login),
      created: extra.created ?? null, error: extra.error ?? null, label: extra.label ?? '',
    });
  }

  r.get('/tokens', clone, async (req, res) => {
    await page(req, res);
  });

  r.post('/tokens', ...post, async (req, res) => {
    const label = (req.body ?? {}).label;
    try {
      const { view, token } = tokens.create(userOf(web, req).login, label);
      res.status(201);
      await page(req, res, { created: { label: view.label, token } });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      res.status(400);
      await page(req, res, { error: (e.ref && translateRef(requestT(web, req), e.ref)) ?? e.message, label: typeof label === 'string' ? label.slice(0, 80) : '' });
    }
  });

  r.post('/tokens/:id/revoke', ...post, async (req, res) => {
    const gone = tokens.revoke(String(req.params.id), userOf(web, req).login, await isAdmin(req));
    res.redirect(303, `${base}/tokens?flash=${web.flash(req, requestT(web, req)('tokens.revoked', { label: gone.label }))}`);
  });
}
