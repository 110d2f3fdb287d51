/**
 * What the action page and its live stream show: ready data, computed once here so the view
 * (pages/action-detail.ejs) and the SSE client only display it.
 */
import type { ActionRow, EventRow, TargetRow } from './action-types';
import { isTerminal } from './action-types';
import { canRetry, isPartial, targetCounts, type TargetCounts } from './action-outcome';

export const LOG_TAIL_BYTES = 4096;

export interface TargetView {
  readonly id: string;
  readonly name: string;
  readonly mac: string;
  readonly ip: string;
  readonly role: TargetRow['role'];
  readonly state: TargetRow['state'];
  readonly stage: string | null;
  readonly percent: number | null;
  readonly bytes: number | null;
  readonly rateKbps: number | null;
  readonly elapsedSeconds: number | null;
  readonly exitCode: number | null;
  readonly message: string | null;
  readonly logTail: string;
  /** Its disk was left partly written: its network boot shows DISQUE INCOMPLET (event.disk.incomplete). */
  readonly diskIncomplete: boolean;
  /** How the PC booted (its agent's result); null until then. */
  readonly firmware: TargetRow['firmware'];
  readonly secureBoot: TargetRow['secureBoot'];
}

export interface ActionView {
  readonly id: string;
  readonly type: ActionRow['type'];
  readonly state: ActionRow['state'];
  readonly params: ActionRow['params'];
  readonly parcs: readonly string[];
  readonly port: number | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly startAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly elapsedSeconds: number | null;
  readonly error: string | null;
  readonly targets: readonly TargetView[];
  readonly events: readonly EventRow[];
  readonly canCancel: boolean;
  /** Clone waiting for receivers, at least one of which already fetched its job. */
  readonly canStartNow: boolean;
  readonly counts: TargetCounts;
  /** Failed with some PCs done: "terminée avec erreurs". */
  readonly partial: boolean;
  /** Over, with failed PCs: "relancer les postes en échec". */
  readonly canRetry: boolean;
}

function seconds(from: string | null, to: string | null, now: Date): number | null {
  if (!from) return null;
  const end = to ? Date.parse(to) : now.getTime();
  return Math.max(0, Math.round((end - Date.parse(from)) / 1000));
}

export function tail(text: string, maxBytes = LOG_TAIL_BYTES): string {
  if (text.length <= maxBytes / 4) return text;
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= maxBytes ? text : buf.subarray(buf.length - maxBytes).toString('utf8').replace(/^\uFFFD+/, '');
}

export function toTargetView(t: TargetRow, now: Date, events: readonly EventRow[] = []): TargetView {
  return {
    id: t.id,
    name: t.name,
    mac: t.mac,
    ip: t.ip,
    role: t.role,
    state: t.state,
    stage: t.stage,
    percent: t.percent,
    bytes: t.bytes,
    rateKbps: t.rateKbps,
    elapsedSeconds: seconds(t.startedAt, t.finishedAt, now),
    exitCode: t.exitCode,
    message: t.message,
    logTail: tail(t.log),
    diskIncomplete: events.some((e) => e.targetId === t.id && e.ref?.key === 'event.disk.incomplete'),
    firmware: t.firmware,
    secureBoot: t.secureBoot,
  };
}

export function canStartNow(action: ActionRow, targets: readonly TargetRow[]): boolean {
  if (action.type !== 'clone' || (action.state !== 'armed' && action.state !== 'running')) return false;
  const receivers = targets.filter((t) => t.role === 'receiver');
  return receivers.some((t) => t.state === 'running') && receivers.some((t) => t.state === 'armed');
}

export function toActionView(action: ActionRow, targets: readonly TargetRow[], events: readonly EventRow[], now: Date): ActionView {
  const counts = targetCounts(targets);
  return {
    id: action.id,
    type: action.type,
    state: action.state,
    params: action.params,
    parcs: action.parcs,
    port: action.port,
    createdBy: action.createdBy,
    createdAt: action.createdAt,
    startAt: action.startAt,
    startedAt: action.startedAt,
    finishedAt: action.finishedAt,
    elapsedSeconds: seconds(action.startedAt, action.finishedAt, now),
    error: action.error,
    targets: targets.map((t) => toTargetView(t, now, events)),
    events,
    canCancel: !isTerminal(action.state),
    canStartNow: canStartNow(action, targets),
    counts,
    partial: isPartial(action.state, counts),
    canRetry: canRetry(action, targets),
  };
}
