/**
 * The shell's own catalog and how it picks a user's language: the choice stored for the user
 * (session, remembered per login), else the browser's Accept-Language, else French.
 */
import type { Locale } from '../../host/contract';
import { createTranslator, type Translate } from '../../i18n/translator';
import { shellEn } from './shell-en';
import { shellFr } from './shell-fr';

export type ShellMessageKey = keyof typeof shellFr;
export type ShellTranslate = Translate<ShellMessageKey>;

export const SHELL_CATALOGS: Readonly<Record<Locale, Readonly<Record<ShellMessageKey, string>>>> = { fr: shellFr, en: shellEn };
export const shellTranslator: (locale: Locale) => ShellTranslate = createTranslator(SHELL_CATALOGS);

/** Each language is offered under its own name, so a reader who does not know the other finds theirs. */
export const LANGUAGE_NAMES: Readonly<Record<Locale, string>> = { fr: 'Français', en: 'English' };
