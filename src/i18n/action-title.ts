/**
 * An action as a person names it: its type, its parcs and its start ("Sauvegarde — salle101 —
 * 03/12/2026 18:30"), never its id (issue 16: no raw identifiers on pages).
 */
import type { ModuleTranslate } from './module-messages';

export interface TitleParts {
  readonly t: ModuleTranslate;
  readonly code: (group: string, value: string) => string;
  readonly fmt: { when(iso: string | null | undefined): string };
}

export function actionTitle(i: TitleParts, a: { readonly type: string; readonly parcs: readonly string[]; readonly startAt: string }): string {
  return i.t('actionTitle', { type: i.code('type', a.type), parcs: a.parcs.join(', ') || '—', when: i.fmt.when(a.startAt) });
}
