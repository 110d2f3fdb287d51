import type { NextFunction, Request, Response } from 'express';
import type { HostWeb, Logger } from '../host/contract';
import { ClonageError, httpStatusOf, InputError } from '../domain/errors';
import { translateRef } from '../i18n/module-messages';
import { requestT, withPageI18n } from '../i18n/page-i18n';

/**
 * The module's single translation of typed errors to HTTP. Agent and API calls get JSON (or plain
 * text for the agent, which parses no JSON); pages get the error rendered in the shell layout.
 */
export function errorMiddleware(hostWeb: HostWeb, logger: Logger) {
  const web = withPageI18n(hostWeb);
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const status = httpStatusOf(err);
    const message = status === 500 ? 'internal error' : (err as Error).message;
    if (status === 500) logger.error('unhandled error', { error: String((err as Error)?.stack ?? err), url: req.originalUrl });
    if (res.headersSent) return;
    res.status(status);
    if (req.path.startsWith('/api/agent/')) {
      res.type('text').send(`error=${message.replace(/[^A-Za-z0-9 ._:/-]/g, '_')}\n`);
      return;
    }
    if (req.path.startsWith('/api/') || req.accepts(['html', 'json']) === 'json') {
      res.json({ error: message, field: err instanceof InputError ? err.field : undefined });
      return;
    }
    // a person reads this page: the error's catalog message in their language, when it has one
    const t = requestT(web, req);
    const shown = (status !== 500 && err instanceof ClonageError && err.ref ? translateRef(t, err.ref) : null) ?? message;
    web
      .render(req, res, 'error', { title: t('title.error', { status }), status, message: shown })
      .catch(() => res.type('text').send(message));
  };
}
