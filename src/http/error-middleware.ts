import type { NextFunction, Request, Response } from 'express';
import type { HostWeb, Logger } from '../host/contract';
import { ClonageError, httpStatusOf, InputError } from '../common/domain/errors';
import { translateRef } from '../i18n/module-messages';
import { requestT, withPageI18n } from '../i18n/page-i18n';
import { API_BASE_PATH, apiErrorBody } from './api/api-errors';

/**
 * The module's single translation of typed errors to HTTP. Agent and API calls get JSON (or plain
 * text for the agent, which parses no JSON); pages get the error rendered in the shell layout.
 */
export function errorMiddleware(hostWeb: HostWeb, logger: Logger) {
  const web = withPageI18n(hostWeb);
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    const status = httpStatusOf(err);
    const message = status === 500 ? 'internal error' : (err as Error).message;
    if (status === 500) logger.error('unhandled error', { error: String((err as Error)?.stack ?? err), url: req.originalUrl });
    if (res.headersSent) return;
    const api = req.path.startsWith('/api/') || req.accepts(['html', 'json']) === 'json';
    const t = requestT(web, req);
    const translated = status !== 500 && err instanceof ClonageError && err.ref ? translateRef(t, err.ref) : null;
    // An error the host raised in one of our routes (its rights or CSRF check) speaks the host's
    // catalog, which the module cannot read: the host's own error page shows it in the reader's language.
    if (!api && err instanceof ClonageError && err.ref && translated === null) return next(err);
    res.status(status);
    if (req.path.startsWith(`${API_BASE_PATH}/`)) {
      // the REST API: {error: {code, field, message}} in the caller's language (src/http/api/api-errors.ts)
      if (status === 401) res.set('WWW-Authenticate', 'Bearer');
      res.set('Cache-Control', 'no-store').json(apiErrorBody(err, status, t));
      return;
    }
    if (req.path.startsWith('/api/agent/')) {
      res.type('text').send(`error=${message.replace(/[^A-Za-z0-9 ._:/-]/g, '_')}\n`);
      return;
    }
    if (api) {
      res.json({ error: message, field: err instanceof InputError ? err.field : undefined });
      return;
    }
    // a person reads this page: the error's catalog message in their language, when it has one
    web
      .render(req, res, 'error', { title: t('title.error', { status }), status, message: translated ?? message })
      .catch(() => res.type('text').send(message));
  };
}
