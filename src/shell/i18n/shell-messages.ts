/**
 * The shell's own catalog and how it picks a user's language: the choice stored for the user
 * (session, remembered per login), else the browser's Accept-Language, else French.
 */
import type { Locale } from '../../host/contract';
import type { MessageRef } from '../../common/domain/errors';
import { createTranslator, type MessageVars, type Translate } from '../../common/i18n/translator';
import { VALUE_CATALOGS } from '../../common/i18n/value-catalogs';
import type { ValueMessageKey } from '../../common/domain/value-messages';
import { shellEn } from './shell-en';
import { shellFr } from './shell-fr';

export type ShellMessageKey = keyof typeof shellFr;
export type ShellTranslate = Translate<ShellMessageKey>;

export const SHELL_CATALOGS: Readonly<Record<Locale, Readonly<Record<ShellMessageKey, string>>>> = { fr: shellFr, en: shellEn };
export const shellTranslator: (locale: Locale) => ShellTranslate = createTranslator(SHELL_CATALOGS);

/** A catalog message for an error the shell's forms show (DHCP reservations). */
export function shellMsg(key: ShellMessageKey, vars?: MessageVars): MessageRef {
  return vars ? { key, vars } : { key };
}

const valueTranslator = createTranslator(VALUE_CATALOGS);

/** An error's message in `locale`: from the shell's catalog or the value types' one; null when neither has it. */
export function translateShellRef(locale: Locale, ref: MessageRef): string | null {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(SHELL_CATALOGS[locale], k);
  // a right is named in words (right.<code>), never by its code
  const right = ref.vars?.right;
  const vars = right !== undefined && has(`right.${right}`) ? { ...ref.vars, right: shellTranslator(locale)(`right.${right}` as ShellMessageKey) } : ref.vars;
  if (has(ref.key)) return shellTranslator(locale)(ref.key as ShellMessageKey, vars);
  if (Object.prototype.hasOwnProperty.call(VALUE_CATALOGS[locale], ref.key)) return valueTranslator(locale)(ref.key as ValueMessageKey, ref.vars);
  return null;
}

/** Each language is offered under its own name, so a reader who does not know the other finds theirs. */
export const LANGUAGE_NAMES: Readonly<Record<Locale, string>> = { fr: 'Français', en: 'English' };
