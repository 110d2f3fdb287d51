import type { frLibrary } from './fr-library';

/** English twin of fr-library.ts (same keys, same placeholders). */
export const enLibrary: Readonly<Record<keyof typeof frLibrary, string>> = {
  'title.images': 'Images',
  'title.schedules': 'Schedules',

  'outcome.partial': 'finished with errors',
  'outcome.counts': '{succeeded} of {total} succeeded, {failed} failed',
  'detail.retry': 'Retry the failed PCs',
  'detail.retryHint': 'A new action, with the same parameters, on the PCs that failed.',
  'conflict.nothingToRetry': 'Nothing to retry: the action is not finished or no PC failed.',
  'event.retryOf': 'retry of the failed PCs of an earlier action, by {by}',
  'flash.retried': 'New action created for the failed PCs.',
  'actionTitle': '{type} — {parcs} — {when}',
};
