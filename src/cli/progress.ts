/**
 * `actions watch` as pure parts: the Server-Sent Events parser, the action's live state read
 * from the API's JSON, the progress-bar frame a terminal shows, the plain lines a log gets,
 * and the exit code of a finished action.
 */
import { EXIT, type ExitCode } from './exit-codes';
import { clean, get } from './render';

export interface SseMessage {
  readonly event: string;
  readonly data: string;
}

/** Incremental text/event-stream parser (WHATWG rules: fields, comments, blank-line dispatch). */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const sep = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      // a lone \r at the very end may be the first half of \r\n: wait for the next chunk
      if (sep === 1 && this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(nl + sep);
      if (line === '') {
        if (this.data.length) out.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') this.event = value;
      else if (name === 'data') this.data.push(value);
    }
    return out;
  }
}

export interface WatchTarget {
  readonly name: string;
  readonly state: string;
  readonly percent: number | null;
  readonly message: string | null;
}

export interface WatchView {
  readonly id: string;
  readonly state: string;
  readonly targets: readonly WatchTarget[];
}

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

function text(x: unknown): string | null {
  return typeof x === 'string' && x !== '' ? x : null;
}

/**
 * The live state from an API answer: GET /actions/{id} (`{action, targets}`) or a stream message
 * (the action's fields at the top level, like the page's stream). The state is `status` or `state`.
 */
export function watchView(data: unknown): WatchView | null {
  const action = get(data, 'action') ?? data;
  const state = text(get(action, 'status')) ?? text(get(action, 'state'));
  if (state === null) return null;
  const rawTargets = get(data, 'targets') ?? get(action, 'targets');
  const targets = (Array.isArray(rawTargets) ? rawTargets : []).map((t) => {
    const p = get(t, 'percent');
    return {
      name: text(get(t, 'machine')) ?? text(get(t, 'name')) ?? '?',
      state: text(get(t, 'status')) ?? text(get(t, 'state')) ?? '?',
      percent: typeof p === 'number' && Number.isFinite(p) ? Math.max(0, Math.min(100, p)) : null,
      message: text(get(t, 'message')),
    };
  });
  return { id: String(get(action, 'id') ?? ''), state, targets };
}

/**
 * A stream's `update` carries only the targets that changed since the previous message (the
 * server's shared live hub, src/http/admin/sse-stream.ts): merged into what was shown, by name.
 */
export function mergeUpdate(prev: WatchView | null, next: WatchView): WatchView {
  if (!prev) return next;
  const changed = new Map(next.targets.map((t) => [t.name, t]));
  const targets = prev.targets.map((t) => changed.get(t.name) ?? t);
  for (const t of next.targets) if (!prev.targets.some((p) => p.name === t.name)) targets.push(t);
  return { ...next, targets };
}

/** null while the action runs; then 0 success, 7 partial, 1 failure, 8 cancelled. */
export function outcome(v: WatchView): ExitCode | null {
  if (!TERMINAL.includes(v.state)) return null;
  if (v.state === 'succeeded') return EXIT.ok;
  if (v.state === 'cancelled') return EXIT.cancelled;
  return v.targets.some((t) => t.state === 'succeeded') ? EXIT.partial : EXIT.actionFailed;
}

export function outcomeWords(v: WatchView): string {
  const n = (s: string) => v.targets.filter((t) => t.state === s).length;
  const counts = `${n('succeeded')}/${v.targets.length} PCs succeeded` + (n('failed') ? `, ${n('failed')} failed` : '');
  const code = outcome(v);
  const word = code === EXIT.partial ? 'ended with errors' : v.state;
  return `action ${clean(v.id)} ${word}: ${counts}`;
}

/** `[#####-----]` of `cells` characters; an unknown percent draws an empty bar. */
export function bar(percent: number | null, cells: number): string {
  const full = percent === null ? 0 : Math.round((percent / 100) * cells);
  return `[${'#'.repeat(full)}${'-'.repeat(cells - full)}]`;
}

function fit(s: string, w: number): string {
  const cps = [...s];
  return cps.length <= w ? s : cps.slice(0, Math.max(0, w - 1)).join('') + '…';
}

/** The lines a terminal shows: a header, then one bar per PC, each cut to `columns`. */
export function ttyFrame(v: WatchView, columns: number): string[] {
  const nameW = Math.min(20, Math.max(4, ...v.targets.map((t) => [...t.name].length)));
  const cells = Math.max(10, Math.min(30, columns - nameW - 30));
  const lines = v.targets.map((t) => {
    const pct = t.percent === null ? '   -' : `${String(Math.round(t.percent)).padStart(3)}%`;
    const head = `${clean(t.name).padEnd(nameW)} ${bar(t.percent, cells)} ${pct} ${t.state.padEnd(9)}`;
    return fit(t.message ? `${head} ${clean(t.message)}` : head.trimEnd(), columns);
  });
  return [fit(`action ${clean(v.id)}: ${v.state}`, columns), ...lines];
}

/** What a non-terminal output has already said about each PC. */
export type PlainMemory = ReadonlyMap<string, string>;

/**
 * Plain lines for logs and pipes: one line per PC when its state or message changes or its
 * percent crosses a tenth, so a long transfer gives ~10 lines, not one per update.
 */
export function plainLines(prev: PlainMemory, v: WatchView): { lines: string[]; memory: PlainMemory } {
  const memory = new Map(prev);
  const lines: string[] = [];
  const actionKey = `action:${v.state}`;
  if (!prev.has(actionKey)) {
    lines.push(`action ${clean(v.id)}: ${v.state}`);
    for (const k of [...memory.keys()]) if (k.startsWith('action:')) memory.delete(k);
    memory.set(actionKey, '');
  }
  for (const t of v.targets) {
    const tenth = t.percent === null ? '-' : String(Math.floor(t.percent / 10));
    const key = `${t.state}|${tenth}|${t.message ?? ''}`;
    if (prev.get(`pc:${t.name}`) === key) continue;
    memory.set(`pc:${t.name}`, key);
    const pct = t.percent === null ? '' : ` ${Math.round(t.percent)}%`;
    lines.push(`${clean(t.name)}: ${t.state}${pct}${t.message ? ` ${clean(t.message)}` : ''}`);
  }
  return { lines, memory };
}
