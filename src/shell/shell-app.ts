import crypto from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import cookieParser from 'cookie-parser';
import type { Directory, Logger } from '../host/contract';
import type { Authenticator } from './directory/authenticator';
import { ClonageError, ForbiddenError, httpStatusOf, InputError, NotFoundError, UnauthorizedError } from '../common/domain/errors';
import { shellMsg, translateShellRef } from './i18n/shell-messages';
import type { LoginThrottle } from './login-throttle';
import { safeEqual } from './sessions';
import { parseParcName } from '../common/domain/hostname';
import type { ModuleHost } from './module-host';
import type { SessionStore } from './sessions';
import type { UserLocales } from './user-locales';
import { isLocale } from '../common/i18n/translator';
import { SESSION_COOKIE, type ShellWeb } from './shell-web';

export interface ShellAppDeps {
  readonly web: ShellWeb;
  readonly sessions: SessionStore;
  readonly userLocales: UserLocales;
  readonly modules: ModuleHost;
  readonly directory: Directory;
  readonly authenticator: Authenticator;
  readonly localAdmin: { readonly login: string; readonly password: string } | null;
  readonly throttle: LoginThrottle;
  readonly logger: Logger;
  readonly staticDir: string;
  /** Extra shell pages (the DHCP module's) mounted before the error handler. */
  readonly extraRoutes?: (app: Express) => void;
}

/** The standalone admin shell: login, home, module management, parcs, and the mount point of modules. */
export function createShellApp(deps: ShellAppDeps): Express {
  const { web } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(cookieParser());
  app.use(formParsers());
  app.use((_req, res, next) => {
    res.set('X-Frame-Options', 'DENY');
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'same-origin');
    next();
  });
  app.use(web.attachSession);
  app.use('/static', express.static(deps.staticDir, { maxAge: '1h' }));

  // The login form has its own CSRF token (there is no session yet): a random value in a
  // cookie only this site's pages can read back into the form (double submit). Without it a
  // hostile page could log a visitor in under the attacker's account.
  const loginToken = (req: Request, res: Response): string => {
    const had = req.cookies?.[LOGIN_CSRF_COOKIE];
    const token = typeof had === 'string' && /^[A-Za-z0-9_-]{43}$/.test(had) ? had : crypto.randomBytes(32).toString('base64url');
    res.cookie(LOGIN_CSRF_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/login' });
    return token;
  };
  const loginPage = (req: Request, res: Response, next: string, error: string | null) =>
    web.renderShell(req, res, 'login', { title: web.t(req)('title.login'), next, error, loginToken: loginToken(req, res) });

  app.get('/login', (req, res, next) => {
    loginPage(req, res, safeNext(req.query.next), null).catch(next);
  });

  app.post('/login', async (req, res, next) => {
    try {
      const cookie = req.cookies?.[LOGIN_CSRF_COOKIE];
      const sent = req.body?._csrf;
      if (typeof cookie !== 'string' || typeof sent !== 'string' || !safeEqual(sent, cookie)) {
        deps.logger.warn('login refused: missing or wrong login form token', { ip: clientAddress(req) });
        throw new ForbiddenError('invalid or missing CSRF token: reload the page and try again', shellMsg('error.csrf'));
      }
      const login = String(req.body?.login ?? '').trim().toLowerCase();
      const password = String(req.body?.password ?? '');
      const target = safeNext(req.body?.next);
      const ip = clientAddress(req);
      const t = web.t(req);
      const locked = deps.throttle.lockFor(login.slice(0, 64), ip);
      if (locked) {
        // No password is checked while locked (no directory bind), even a right one.
        deps.logger.warn('login refused: locked', { login: login.slice(0, 64), ip, lockedBy: locked.kind, retryAfterSeconds: locked.retryAfterSeconds });
        res.status(429).set('Retry-After', String(locked.retryAfterSeconds));
        await loginPage(req, res, target, t('login.locked', { seconds: locked.retryAfterSeconds }));
        return;
      }
      const user = await authenticate(deps, login, password);
      if (!user) {
        const lock = deps.throttle.failed(login.slice(0, 64), ip);
        deps.logger.warn('login failed', { login: login.slice(0, 64), ip, ...(lock ? { lockedBy: lock.kind, lockSeconds: lock.retryAfterSeconds } : {}) });
        res.status(401);
        await loginPage(req, res, target, t('login.failed'));
        return;
      }
      deps.throttle.succeeded(login);
      // the language the user chose last time, if any; otherwise pages follow the browser
      const s = deps.sessions.create(user, deps.localAdmin?.login === user.login, deps.userLocales.get(user.login));
      res.cookie(SESSION_COOKIE, s.id, { httpOnly: true, sameSite: 'lax', path: '/', expires: new Date(s.expiresAt) });
      res.clearCookie(LOGIN_CSRF_COOKIE, { path: '/login' });
      deps.logger.info('login', { login: user.login, ip });
      res.redirect(303, target);
    } catch (e) {
      next(e);
    }
  });

  app.post('/logout', web.verifyCsrf, (req, res) => {
    deps.sessions.destroy(req.cookies?.[SESSION_COOKIE]);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/login');
  });

  const loggedIn = (req: Request, res: Response, next: NextFunction): void => {
    if (web.currentUser(req)) return next();
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  };

  /** The language switch: kept in the session for this visit and remembered for the user's next logins. */
  app.post('/locale', loggedIn, web.verifyCsrf, (req, res, next) => {
    try {
      const locale = req.body?.locale;
      if (!isLocale(locale)) throw new InputError('locale: expected fr or en', 'locale');
      const session = web.session(req)!;
      deps.sessions.setLocale(session.id, locale);
      deps.userLocales.set(session.user.login, locale);
      deps.logger.info('language changed', { login: session.user.login, locale });
      res.redirect(303, safeNext(req.body?.next));
    } catch (e) {
      next(e);
    }
  });

  app.get('/', loggedIn, async (req, res, next) => {
    try {
      const parcs = await deps.directory.listParcs();
      await web.renderShell(req, res, 'home', { title: web.t(req)('title.home'), parcCount: parcs.length });
    } catch (e) {
      next(e);
    }
  });

  app.get('/admin/modules', web.requireRight('system_is_admin'), (req, res, next) => {
    web.renderShell(req, res, 'modules', { title: web.t(req)('title.modules'), modules: deps.modules.list() }).catch(next);
  });

  app.post('/admin/modules/:id/:op', web.requireRight('system_is_admin'), web.verifyCsrf, async (req, res, next) => {
    try {
      const id = String(req.params.id);
      const op = String(req.params.op);
      if (op === 'enable') await deps.modules.enable(id);
      else if (op === 'disable') await deps.modules.disable(id);
      else throw new InputError(`unknown operation ${op}`);
      deps.logger.info(`module ${op}d`, { module: id, by: web.currentUser(req)?.login });
      const flash = web.t(req)(op === 'enable' ? 'modules.flash.enabled' : 'modules.flash.disabled', { id });
      res.redirect(303, `/admin/modules?flash=${web.flash(req, flash)}`);
    } catch (e) {
      next(e);
    }
  });

  app.get('/parcs', loggedIn, async (req, res, next) => {
    try {
      const parcs = (await deps.directory.listParcs()).sort((a, b) => a.name.localeCompare(b.name));
      await web.renderShell(req, res, 'parcs', { title: web.t(req)('title.parcs'), parcs });
    } catch (e) {
      next(e);
    }
  });

  app.get('/parcs/:name', loggedIn, async (req, res, next) => {
    try {
      const name = parseParcName(req.params.name);
      const computers = await deps.directory.computersInParc(name);
      await web.renderShell(req, res, 'parc', { title: web.t(req)('title.parc', { name }), parc: name, computers });
    } catch (e) {
      next(e);
    }
  });

  deps.extraRoutes?.(app);
  app.use('/modules/:moduleId', deps.modules.dispatch);

  // an unknown address: the error page in the layout, translated, with a way back
  app.use((_req: Request, _res: Response, next: NextFunction) => {
    next(new NotFoundError('not found', shellMsg('error.notFound')));
  });
  app.use(errorHandler(web, deps.logger));
  return app;
}

/**
 * The PCs' listener (config `listen.pc`): only what a PC calls — each module's `/api/…` (agent,
 * emitter, post-clone) and `/boot/…` (iPXE script, kernels) — so no page, no /login, no session
 * is reachable from the PCs' network. Same body parsers and error handling as the admin app.
 */
export function createPcApp(deps: Pick<ShellAppDeps, 'web' | 'modules' | 'logger'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(formParsers());
  // a module's REST API (/api/v1/…) is for admins: never served on the PCs' network
  app.use('/modules/:moduleId', (req, res, next) => (/^\/(api|boot)(\/|$)/.test(req.path) && !MODULE_API.test(req.originalUrl) ? deps.modules.dispatch(req, res, next) : next()));
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text').send('Not found');
  });
  app.use(errorHandler(deps.web, deps.logger));
  return app;
}

/** The shell's single translation of typed errors to HTTP: HTML page for browsers, JSON otherwise. */
function errorHandler(web: ShellWeb, logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let status = httpStatusOf(err);
    if ((err as { type?: string }).type === 'entity.too.large') status = 413;
    else if ((err as { type?: string }).type === 'entity.parse.failed') status = 400;
    const message = status === 500 ? web.t(req)('error.internal') : (err as Error).message;
    if (status === 500) logger.error('unhandled error', { error: String((err as Error)?.stack ?? err), url: req.originalUrl });
    if (res.headersSent) return;
    res.status(status);
    if (err instanceof UnauthorizedError && req.accepts(['html', 'json']) === 'html' && req.method === 'GET') {
      res.redirect(303, '/login');
      return;
    }
    if (req.accepts(['html', 'json']) === 'json' || req.path.includes('/api/')) {
      res.json({ error: message, field: (err as InputError).field });
      return;
    }
    // a person reads this page: the error's catalog message in their language, when it has one
    const ref = status !== 500 && err instanceof ClonageError ? err.ref : undefined;
    const shown = (ref && translateShellRef(web.locale(req), ref)) ?? message;
    web.renderShell(req, res, 'error', { title: web.t(req)('title.error', { status }), status, message: shown }).catch(() => res.type('text').send(message));
  };
}

async function authenticate(deps: ShellAppDeps, login: string, password: string) {
  if (!/^[a-z0-9._-]{1,64}$/.test(login) || password.length === 0 || password.length > 256) return null;
  if (deps.localAdmin && login === deps.localAdmin.login) {
    const a = crypto.createHash('sha256').update(password).digest();
    const b = crypto.createHash('sha256').update(deps.localAdmin.password).digest();
    return crypto.timingSafeEqual(a, b) ? { login, displayName: 'Administrateur local' } : null;
  }
  if (!(await deps.authenticator.authenticate(login, password))) return null;
  return { login, displayName: login };
}

/** A module's versioned REST API: JSON typed by the module itself (numbers, booleans), parsed and bounded there. */
const MODULE_API = /^\/modules\/[^/?]+\/api\/v\d+(\/|\?|$)/;

/** The body parsers of pages and PC calls (form fields are text), skipped for a module's REST API. */
/**
 * The admin forms' parsers: sized for a module's largest form (the clonage wizard's 2,000
 * machines, checked up to twice that so the module answers with its own field error): a form
 * past these is refused with 413 before any module sees it.
 */
export const FORM_LIMITS = { bytes: 512 * 1024, parameters: 5000 } as const;

function formParsers(): RequestHandler[] {
  const parsers: RequestHandler[] = [
    express.urlencoded({ extended: false, limit: FORM_LIMITS.bytes, parameterLimit: FORM_LIMITS.parameters }),
    express.json({ limit: FORM_LIMITS.bytes }), textFieldsOnly,
  ];
  return parsers.map((p) => (req, res, next) => (MODULE_API.test(req.originalUrl) ? next() : p(req, res, next)));
}

/**
 * Forms carry text: a field that is an object, a number, a boolean or null (a JSON body such as
 * `{"login":{"toString":1}}`) is refused here with 400, once for every route, before any handler
 * could call String() on it (issue 12: that was a 500 with a stack trace in the log).
 */
function textFieldsOnly(req: Request, _res: Response, next: NextFunction): void {
  const body: unknown = req.body;
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) return next();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return next(new InputError('body: form fields expected'));
  for (const [name, value] of Object.entries(body)) {
    const ok = typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    if (!ok) return next(new InputError(`${name.slice(0, 40)}: text expected`, name.slice(0, 40)));
  }
  next();
}

const LOGIN_CSRF_COOKIE = 'shell_login_csrf';

/** The peer's address (no proxy is trusted), IPv4-mapped IPv6 written as IPv4. */
function clientAddress(req: Request): string {
  const a = req.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Only same-site relative paths are allowed after login (no open redirect). */
function safeNext(v: unknown): string {
  return typeof v === 'string' && /^\/[A-Za-z0-9/_?=&%.-]*$/.test(v) && !v.startsWith('//') ? v : '/';
}
