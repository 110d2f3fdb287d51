/**
 * What every module page gets to speak the user's language: `t` (catalog), `code` (a code such as
 * a state or a type, printed through its catalog group, or as is when the catalog has no entry:
 * codes come from the database and a new one must not break a page), `fmt` and `locale`.
 * The locale comes from the host (HostWeb.locale): the module never reads the shell's session.
 */
import type { Request } from 'express';
import type { HostWeb, Locale } from '../host/contract';
import type { MessageRef } from '../common/domain/errors';
import { MODULE_CATALOGS, moduleTranslator, type ModuleMessageKey, type ModuleTranslate } from './module-messages';
import { pageFormat, type PageFormat } from './page-format';
import { actionTitle } from './action-title';
import { partitionKind } from '../images/partition-types';

export interface PageI18n {
  readonly locale: Locale;
  readonly t: ModuleTranslate;
  readonly code: (group: string, value: string) => string;
  readonly fmt: PageFormat;
  /** An action event in this language when it carries a catalog message, else as written. */
  readonly event: (e: { readonly message: string; readonly ref?: MessageRef }) => string;
  /** An action named by type, parcs and start (action-title.ts), never by its id. */
  readonly actionTitle: (a: { readonly type: string; readonly parcs: readonly string[]; readonly startAt: string }) => string;
  /** A partition type (sfdisk's `83`, `7`, a GPT GUID) by name; an unknown one keeps its code, marked. */
  readonly partType: (type: string | null | undefined) => string;
  /** An agent's result code in words (exit.N); a code the catalog does not know is shown as is, marked. */
  readonly exitText: (code: number | string | null | undefined) => string;
}

/** Event values that are codes (printed through their catalog group) or dates. */
const EVENT_VAR_GROUPS: Readonly<Record<string, string>> = { from: 'state', to: 'state', role: 'role', stage: 'stage', type: 'type', method: 'wakeMethod' };

export interface PageI18nOptions {
  /** IANA zone for dates on pages; absent: the server's zone. */
  readonly timeZone?: string;
}

export function pageI18n(locale: Locale, opts: PageI18nOptions = {}): PageI18n {
  const t = moduleTranslator(locale);
  const catalog = MODULE_CATALOGS[locale];
  const code = (group: string, value: string) => {
    // a deploy receiver's stages recv-1, recv-2… (one per partition the agent receives)
    const recv = group === 'stage' ? /^recv-(\d{1,3})$/.exec(value) : null;
    if (recv) return t('stage.recv', { n: recv[1] });
    const key = `${group}.${value}`;
    return Object.prototype.hasOwnProperty.call(catalog, key) ? t(key as ModuleMessageKey) : value;
  };
  const fmt = pageFormat(locale, t, opts.timeZone);
  const event = (e: { readonly message: string; readonly ref?: MessageRef }) => {
    // stored rows may outlive a key (an older or newer version of the module): then the English text
    if (!e.ref || !Object.prototype.hasOwnProperty.call(catalog, e.ref.key)) return e.message;
    const result = e.ref.key === 'event.target.result' || e.ref.key === 'event.target.resultMessage';
    const vars = Object.fromEntries(
      Object.entries(e.ref.vars ?? {}).map(([k, v]) => [k,
        k === 'at' ? fmt.when(String(v))
        : result && k === 'code' ? exitText(t, catalog, v)
        : result && k === 'message' ? t('agent.rawMessage', { message: String(v) })
        : k in EVENT_VAR_GROUPS ? code(EVENT_VAR_GROUPS[k], String(v))
        // measures in the reader's notation: a byte count as a size, rates and durations as numbers
        : k === 'bytes' && typeof v === 'number' ? fmt.size(v)
        : (k === 'kbps' || k === 'percent') && typeof v === 'number' ? fmt.number(v)
        : k === 'seconds' && v !== '' && Number.isFinite(Number(v)) ? fmt.number(Number(v), 1) : v]),
    );
    try {
      return t(e.ref.key as ModuleMessageKey, vars);
    } catch {
      return e.message; // a value missing from a stored row
    }
  };
  const partType = (type: string | null | undefined) => {
    if (!type) return '—';
    const kind = partitionKind(type);
    return kind ? t(`parttype.${kind}`) : t('parttype.unknown', { code: type });
  };
  return { locale, t, code, fmt, event, actionTitle: (a) => actionTitle({ t, code, fmt }, a), partType, exitText: (c) => exitText(t, catalog, c) };
}

/** Agent result codes (pxe/agent/agent-lib.sh EXIT_*, docs/i18n.md) as catalog texts. */
function exitText(t: ModuleTranslate, catalog: Readonly<Record<string, string>>, c: number | string | null | undefined): string {
  if (c === null || c === undefined || c === '') return '';
  const key = `exit.${c}`;
  return Object.prototype.hasOwnProperty.call(catalog, key) ? t(key as ModuleMessageKey) : t('exit.unknown', { code: c });
}

/** The translator for the user of this request (titles, flash messages, form errors). */
export function requestT(web: Pick<HostWeb, 'locale'>, req: Request): ModuleTranslate {
  return moduleTranslator(web.locale(req));
}

/**
 * The host's web with a render that adds t/code/fmt/locale to every view's locals, so no route
 * can forget them; each route module wraps the web it is given. Everything else is the host's.
 */
export function withPageI18n(web: HostWeb, opts: PageI18nOptions = {}): HostWeb {
  return {
    router: web.router,
    mountPath: web.mountPath,
    currentUser: (req) => web.currentUser(req),
    can: (user, right) => web.can(user, right),
    parcsOf: (user, right) => web.parcsOf(user, right),
    requireRight: (right) => web.requireRight(right),
    csrfToken: (req) => web.csrfToken(req),
    verifyCsrf: web.verifyCsrf,
    locale: (req) => web.locale(req),
    flash: (req, message) => web.flash(req, message),
    render: (req, res, view, locals) => web.render(req, res, view, { ...pageI18n(web.locale(req), opts), ...locals }),
  };
}
