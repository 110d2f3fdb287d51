import crypto from 'node:crypto';
import path from 'node:path';
import ejs from 'ejs';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { HostUser, Locale, Right } from '../host/contract';
import { LOCALES, localeFromAcceptLanguage } from '../common/i18n/translator';
import { LANGUAGE_NAMES, shellMsg, shellTranslator, type ShellTranslate } from './i18n/shell-messages';
import { ForbiddenError, InputError, UnauthorizedError } from '../common/domain/errors';
import type { Rights } from './rights';
import { safeEqual, type Session, type SessionStore } from './sessions';

export const SESSION_COOKIE = 'shell_session';

export interface MenuItem {
  readonly section: string;
  readonly label: string;
  readonly href: string;
  readonly order: number;
}

/** Sessions, rights checks, CSRF and the shell layout: what HostWeb exposes, shared by every module. */
/** Flash messages waiting to be shown, all sessions together (the oldest go first beyond). */
const MAX_FLASHES = 1000;
/**
 * Compiled templates are kept (ejs's cache, keyed by file): compiling a page and its partials
 * cost more than rendering them. CLONAGE_RELOAD_TEMPLATES=1 reads them again on every request,
 * for whoever edits pages/ on a running shell.
 */
const TEMPLATE_OPTIONS = { async: false, cache: process.env.CLONAGE_RELOAD_TEMPLATES !== '1' } as const;

export class ShellWeb {
  private readonly sessionOf = new WeakMap<Request, Session>();
  /** id → message, for one session: a URL carries only the id, never the text (issue 12: spoofing). */
  private readonly flashes = new Map<string, { readonly session: string; readonly text: string }>();

  constructor(
    private readonly sessions: SessionStore,
    readonly rights: Rights,
    private readonly viewsDir: string,
    private readonly menuFor: (user: HostUser, locale: Locale) => Promise<MenuItem[]>,
  ) {}

  /** Attaches the session named by the cookie, if any and valid. */
  readonly attachSession: RequestHandler = (req, _res, next) => {
    const s = this.sessions.get(req.cookies?.[SESSION_COOKIE]);
    if (s) this.sessionOf.set(req, s);
    next();
  };

  session(req: Request): Session | null {
    return this.sessionOf.get(req) ?? null;
  }

  currentUser(req: Request): HostUser | null {
    return this.session(req)?.user ?? null;
  }

  requireRight(right: Right): RequestHandler {
    return (req, res, next) => {
      const user = this.currentUser(req);
      if (!user) {
        if (req.method === 'GET' && req.accepts(['html', 'json']) === 'html') {
          res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
          return;
        }
        next(new UnauthorizedError('not logged in'));
        return;
      }
      this.rights.can(user, right).then(
        (ok) => next(ok ? undefined : new ForbiddenError(`the right ${right} is required`, shellMsg('error.rightRequired', { right }))),
        next,
      );
    };
  }

  /** The user's chosen language (kept in the session), else the browser's, else French. */
  locale(req: Request): Locale {
    return this.session(req)?.locale ?? localeFromAcceptLanguage(req.get('accept-language'));
  }

  /** The shell catalog in this request's language. */
  t(req: Request): ShellTranslate {
    return shellTranslator(this.locale(req));
  }

  csrfToken(req: Request): string {
    const s = this.session(req);
    if (!s) throw new UnauthorizedError('not logged in');
    return s.csrf;
  }

  /** Synchronizer-token CSRF check on every unsafe method: form field `_csrf` or header `x-csrf-token`. */
  readonly verifyCsrf: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
    if (['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return next();
    const s = this.session(req);
    const sent = (req.body && typeof req.body === 'object' ? req.body._csrf : undefined) ?? req.get('x-csrf-token');
    if (!s || typeof sent !== 'string' || !safeEqual(sent, s.csrf)) {
      return next(new ForbiddenError('invalid or missing CSRF token: reload the page and try again', shellMsg('error.csrf')));
    }
    next();
  };

  /**
   * Keeps a one-time message for this session's next page and returns its id, for `?flash=<id>`.
   * The page shows the message only to the session that made it, once; an unknown id shows nothing.
   */
  flash(req: Request, text: string): string {
    const s = this.session(req);
    if (!s) throw new UnauthorizedError('not logged in');
    const id = crypto.randomBytes(12).toString('base64url');
    this.flashes.set(id, { session: s.id, text });
    while (this.flashes.size > MAX_FLASHES) this.flashes.delete(this.flashes.keys().next().value as string);
    return id;
  }

  private takeFlash(req: Request): string | null {
    const id = req.query.flash;
    const s = this.session(req);
    if (typeof id !== 'string' || !s) return null;
    const f = this.flashes.get(id);
    if (!f || f.session !== s.id) return null;
    this.flashes.delete(id);
    return f.text;
  }

  /** Renders `view` (absolute .ejs path) and wraps it in the shell layout with the user's menu. */
  async renderPage(req: Request, res: Response, viewFile: string, locals: Record<string, unknown> & { title: string }): Promise<void> {
    const session = this.session(req);
    const common = { csrfToken: session?.csrf ?? '', user: session?.user ?? null };
    const body = await ejs.renderFile(viewFile, { ...locals, ...common }, TEMPLATE_OPTIONS);
    const locale = this.locale(req);
    const menu = session ? await this.menuFor(session.user, locale) : [];
    const isAdmin = session ? await this.rights.can(session.user, 'system_is_admin') : false;
    const html = await ejs.renderFile(path.join(this.viewsDir, 'layout.ejs'), {
      ...common,
      t: shellTranslator(locale),
      locale,
      // each switch button speaks the language it switches to (its name and its tooltip)
      languages: LOCALES.map((l) => ({ locale: l, name: LANGUAGE_NAMES[l], title: shellTranslator(l)('layout.languageSwitch') })),
      title: locals.title,
      body,
      menu,
      isAdmin,
      currentPath: req.originalUrl.split('?')[0],
      // where the language switch comes back to: this page, without its one-time flash message
      currentUrl: req.originalUrl.replace(/([?&])flash=[^&]*&?/, '$1').replace(/[?&]$/, ''),
      flash: this.takeFlash(req),
    }, TEMPLATE_OPTIONS);
    res.type('html').send(html);
  }

  /** Renders one of the shell's own views, with the shell catalog as `t`. */
  renderShell(req: Request, res: Response, view: string, locals: Record<string, unknown> & { title: string }): Promise<void> {
    return this.renderPage(req, res, this.viewFile(this.viewsDir, view), { t: this.t(req), locale: this.locale(req), ...locals });
  }

  /** Resolves a module-relative view name, refusing anything that could leave the folder. */
  viewFile(dir: string, view: string): string {
    if (!/^[a-z0-9_-]+(\/[a-z0-9_-]+)*$/.test(view)) throw new InputError(`bad view name ${view}`);
    return path.join(dir, `${view}.ejs`);
  }
}
