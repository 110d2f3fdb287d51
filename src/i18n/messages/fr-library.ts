/**
 * French texts of the image library, the schedules page, partial results and retries, and the
 * wizard's per-PC status (issue 16 items 3–6). English twin: en-library.ts.
 */
export const frLibrary = {
  'title.images': 'Images',
  'title.schedules': 'Planifications',

  'outcome.partial': 'terminée avec erreurs',
  'outcome.counts': '{succeeded} sur {total} réussis, {failed} en échec',
  'detail.retry': 'Relancer les postes en échec',
  'detail.retryHint': 'Une nouvelle action, avec les mêmes paramètres, sur les postes en échec.',
  'conflict.nothingToRetry': 'Rien à relancer : l’action n’est pas terminée ou aucun poste n’a échoué.',
  'event.retryOf': 'relance des postes en échec d’une action précédente, par {by}',
  'flash.retried': 'Nouvelle action créée pour les postes en échec.',
  'actionTitle': '{type} — {parcs} — {when}',
} as const;
