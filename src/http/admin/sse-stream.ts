/**
 * The live stream of an action page (Server-Sent Events): a snapshot first, then updates as the
 * action bus publishes them, coalesced (one message per `throttleMs`), with a heartbeat that
 * keeps proxies from dropping a quiet connection. Events go out as the page shows them: in the
 * reader's language when they carry a catalog message.
 */
import type { Request, Response } from 'express';
import type { Locale } from '../../host/contract';
import type { ActionListener, ActionUpdate } from '../../actions/engine/action-bus';
import type { ActionView } from '../../actions/model/action-view';
import { pageI18n } from '../../i18n/page-i18n';

export interface ActionStreamSource {
  snapshot(actionId: string): ActionView;
  subscribe(actionId: string, listener: ActionListener): () => void;
}

export interface SseOptions {
  /** SSE keep-alive period; proxies drop silent connections. */
  readonly heartbeatMs?: number;
  /** Coalesces bursts of progress updates into one message per stream. */
  readonly throttleMs?: number;
}

type Event = ActionUpdate['events'][number];

/** Events as the page shows them: in the reader's language when they carry a catalog message (SSE and REST API). */
export function shownEvents(locale: Locale, events: readonly Event[]) {
  const i18n = pageI18n(locale);
  return events.map(({ ref, ...e }) => ({ ...e, message: i18n.event({ message: e.message, ref }) }));
}

/** The live part of a view: no event list and no logs (sent once in the snapshot). */
function liveView(v: ActionView) {
  return { ...v, events: [], targets: v.targets.map((t) => ({ ...t, logTail: '' })) };
}

/** Open streams of the module: closed all at once when it stops. */
export class ActionStreams {
  private readonly open = new Set<() => void>();

  constructor(private readonly source: ActionStreamSource, private readonly opts: SseOptions = {}) {}

  /** Serves the stream of an action the caller has already authorised. */
  serve(actionId: string, locale: Locale, req: Request, res: Response): void {
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const shown = (events: readonly Event[]) => shownEvents(locale, events);
    const first = this.source.snapshot(actionId);
    send('snapshot', { ...first, events: shown(first.events) });
    let pendingEvents: Event[] = [];
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      timer = null;
      send('update', { ...liveView(this.source.snapshot(actionId)), events: shown(pendingEvents) });
      pendingEvents = [];
    };
    const unsubscribe = this.source.subscribe(actionId, (u) => {
      pendingEvents.push(...u.events);
      if (!timer) timer = setTimeout(flush, this.opts.throttleMs ?? 250);
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), this.opts.heartbeatMs ?? 15_000);
    const close = () => {
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      unsubscribe();
      this.open.delete(end);
    };
    const end = () => {
      close();
      res.end();
    };
    this.open.add(end);
    res.on('close', close);
  }

  /** Module stop: ends every open stream. */
  closeAll(): void {
    for (const end of [...this.open]) end();
  }
}
