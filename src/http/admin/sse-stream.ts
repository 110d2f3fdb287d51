/**
 * The live stream of an action page (Server-Sent Events): a snapshot first, then updates as the
 * action bus publishes them, coalesced (one message per `throttleMs`), with a heartbeat that
 * keeps proxies from dropping a quiet connection. Events go out as the page shows them: in the
 * reader's language when they carry a catalog message.
 *
 * Every viewer of one action shares one hub: one bus subscription, one live read of the action
 * per flush, and one message per language written to every viewer. An update carries only the
 * targets whose shown fields changed since the previous flush (issue 15: 100 viewers of a
 * 500-PC action each re-reading and re-sending the whole action every 250 ms starved the
 * agents' progress posts).
 */
import type { Request, Response } from 'express';
import type { Locale } from '../../host/contract';
import type { ActionListener, ActionUpdate } from '../../actions/engine/action-bus';
import type { ActionView, TargetView } from '../../actions/model/action-view';
import { pageI18n } from '../../i18n/page-i18n';

export interface ActionStreamSource {
  /** The whole view (events, log tails): the first message of a stream. */
  snapshot(actionId: string): ActionView;
  /** The view without events and log tails: what every flush reads, once per action. */
  live(actionId: string): ActionView;
  subscribe(actionId: string, listener: ActionListener): () => void;
}

export interface SseOptions {
  /** SSE keep-alive period; proxies drop silent connections. */
  readonly heartbeatMs?: number;
  /** Coalesces bursts of progress updates into one message per action. */
  readonly throttleMs?: number;
}

type Event = ActionUpdate['events'][number];

interface Viewer {
  readonly res: Response;
  readonly locale: Locale;
  /** Events up to this id were in its snapshot: a flush must not repeat them. */
  seenEventId: number;
}

/** What a page shows of a target, without the elapsed time (which moves every second by itself). */
const shownKey = ({ elapsedSeconds: _e, logTail: _l, ...t }: TargetView): string => JSON.stringify(t);

const frame = (event: string, data: unknown): Buffer => Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, 'utf8');

/** Events as the page shows them: in the reader's language when they carry a catalog message (SSE and REST API). */
export function shownEvents(locale: Locale, events: readonly Event[]) {
  const i18n = pageI18n(locale);
  return events.map(({ ref, ...e }) => ({ ...e, message: i18n.event({ message: e.message, ref }) }));
}

/** The viewers of one action and what they were last sent. */
class ActionHub {
  readonly viewers = new Set<Viewer>();
  private readonly sentKeys = new Map<string, string>();
  private pendingEvents: Event[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly actionId: string, private readonly source: ActionStreamSource, private readonly throttleMs: number, first: ActionView) {
    for (const t of first.targets) this.sentKeys.set(t.id, shownKey(t));
    this.unsubscribe = source.subscribe(actionId, (u) => {
      this.pendingEvents.push(...u.events);
      if (!this.timer) this.timer = setTimeout(() => this.flush(), this.throttleMs);
    });
  }

  private flush(): void {
    this.timer = null;
    const events = this.pendingEvents;
    this.pendingEvents = [];
    let view: ActionView;
    try {
      view = this.source.live(this.actionId);
    } catch {
      return; // the action is gone: its viewers keep their page, the heartbeat goes on
    }
    const changed: TargetView[] = [];
    for (const t of view.targets) {
      const key = shownKey(t);
      if (this.sentKeys.get(t.id) === key) continue;
      this.sentKeys.set(t.id, key);
      changed.push(t);
    }
    const body = { ...view, targets: changed };
    const byLocale = new Map<Locale, Buffer>();
    for (const v of this.viewers) {
      let message: Buffer | undefined;
      if (events.length > 0 && events[0].id <= v.seenEventId) {
        // joined between two flushes: its snapshot already listed some of these events
        message = frame('update', { ...body, events: shownEvents(v.locale, events.filter((e) => e.id > v.seenEventId)) });
      } else {
        message = byLocale.get(v.locale);
        if (!message) byLocale.set(v.locale, (message = frame('update', { ...body, events: shownEvents(v.locale, events) })));
      }
      v.seenEventId = 0;
      v.res.write(message);
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe();
  }
}

/** Open streams of the module: closed all at once when it stops. */
export class ActionStreams {
  private readonly open = new Set<() => void>();
  private readonly hubs = new Map<string, ActionHub>();

  constructor(private readonly source: ActionStreamSource, private readonly opts: SseOptions = {}) {}

  /** Serves the stream of an action the caller has already authorised. */
  serve(actionId: string, locale: Locale, req: Request, res: Response): void {
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    const first = this.source.snapshot(actionId);
    res.write(frame('snapshot', { ...first, events: shownEvents(locale, first.events) }));
    let hub = this.hubs.get(actionId);
    if (!hub) this.hubs.set(actionId, (hub = new ActionHub(actionId, this.source, this.opts.throttleMs ?? 250, first)));
    const viewer: Viewer = { res, locale, seenEventId: first.events.reduce((max, e) => Math.max(max, e.id), 0) };
    hub.viewers.add(viewer);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), this.opts.heartbeatMs ?? 15_000);
    const close = () => {
      clearInterval(heartbeat);
      this.open.delete(end);
      const h = this.hubs.get(actionId);
      if (!h || !h.viewers.delete(viewer) || h.viewers.size > 0) return;
      h.close();
      this.hubs.delete(actionId);
    };
    const end = () => {
      close();
      res.end();
    };
    this.open.add(end);
    res.on('close', close);
  }

  /** How many actions have a hub (each: one bus subscription, whatever its number of viewers). */
  hubCount(): number {
    return this.hubs.size;
  }

  /** Module stop: ends every open stream. */
  closeAll(): void {
    for (const end of [...this.open]) end();
  }
}
