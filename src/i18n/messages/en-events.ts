/** English twin of fr-events.ts: the same sentences the server stores in clonage_events.message. */
import type { frEvents } from './fr-events';

export const enEvents: Readonly<Record<keyof typeof frEvents, string>> = {
  'event.action': 'action: {from} → {to}',
  'event.stage': '{name}: {stage}',
  'event.created': 'created by {by}: {type} of {names}, start {at}',
  'event.createdPort': 'created by {by}: {type} of {names}, port {port}, start {at}',
  'event.alreadyRunning': '{name} is already running: its disk is not touched, it finishes on its own',
  'event.startNow': 'start now by {by}: min_receivers {before} → {after}',
  'event.startNowSenderRunning': 'start now by {by}: min_receivers {before} → {after} (the sender already runs: it starts at max_wait at the latest)',
  'event.target.fetched': '{name} ({role}): {from} → {to} — job fetched by the agent',
  'event.target.result': '{name} ({role}): {from} → {to} — exit code {code}',
  'event.target.resultMessage': '{name} ({role}): {from} → {to} — exit code {code}: {message}',
  'event.target.preparingEmitter': '{name} ({role}): {from} → {to} — preparing the emitter',
  'event.target.waitingEmitter': '{name} ({role}): {from} → {to} — waiting for the emitter',
  'event.target.verifyingSource': '{name} ({role}): {from} → {to} — the server verifies the source image',
  'event.target.cancelledDeploy': '{name} ({role}): {from} → {to} — cancelled by {by}: the multicast sender is stopped, the disk may be partly written',
  'event.target.armed': '{name} ({role}): {from} → {to} — boot plan armed (toolkit {toolkit})',
  'event.target.notFetched':
    '{name} ({role}): {from} → {to} — did not fetch its job within {minutes} minutes (powered off? not booting from the network?)',
  'event.target.silent': '{name} ({role}): {from} → {to} — no news from the agent for {minutes} minutes',
  'event.target.senderFailed': '{name} ({role}): {from} → {to} — the sender failed',
  'event.target.cancelledBy': '{name} ({role}): {from} → {to} — cancelled by {by}',
  'event.target.leftOut': '{name} ({role}): {from} → {to} — left out by {by} (start now)',
};
