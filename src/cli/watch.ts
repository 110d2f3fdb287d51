/**
 * `clonage actions watch <id>`: reads the action's live stream (SSE) and shows it — progress bars
 * redrawn in place on a terminal, plain lines otherwise, one JSON object per message with --json —
 * until the action ends; the exit code is its outcome. A stream that drops is reopened (a bounded
 * number of times); the action's state is read once more before giving up.
 */
import type { CliConfig } from './config';
import { call, failure, headers, target, unreachable, type Fetch } from './client';
import { CliError, EXIT, type ExitCode } from './exit-codes';
import { get } from './render';
import { mergeUpdate, outcome, outcomeWords, plainLines, SseParser, ttyFrame, watchView, type PlainMemory, type WatchView } from './progress';

export interface WatchIo {
  readonly out: (text: string) => void;
  /** Terminal width when stdout is a terminal, null for pipes and files. */
  readonly ttyColumns: number | null;
  readonly json: boolean;
  readonly sleep: (ms: number) => Promise<void>;
}

/** Reconnections after the stream drops while the action still runs. */
export const MAX_RECONNECTS = 5;
/** No byte for this long (the server sends a heartbeat every 15 s): the connection is dead. */
export const SILENCE_MS = 60_000;

class Display {
  private shown = 0;
  private memory: PlainMemory = new Map();

  constructor(private readonly io: WatchIo) {}

  show(v: WatchView, raw: string): void {
    if (this.io.json) {
      this.io.out(`${raw}\n`);
    } else if (this.io.ttyColumns !== null) {
      const lines = ttyFrame(v, this.io.ttyColumns);
      // back to the first line of the previous frame, then rewrite every line (a shorter frame clears the rest)
      const up = this.shown > 0 ? `\x1b[${this.shown}F` : '';
      const extra = Math.max(0, this.shown - lines.length);
      this.io.out(up + lines.map((l) => `\x1b[2K${l}\n`).join('') + '\x1b[2K\n'.repeat(extra) + (extra ? `\x1b[${extra}F` : ''));
      this.shown = lines.length;
    } else {
      const r = plainLines(this.memory, v);
      this.memory = r.memory;
      if (r.lines.length) this.io.out(r.lines.join('\n') + '\n');
    }
  }

  end(v: WatchView): void {
    if (!this.io.json) this.io.out(`${outcomeWords(v)}\n`);
  }
}

/** Reads one stream until the action ends (its exit code) or the stream closes (null). */
async function readStream(cfg: CliConfig, path: string, display: Display, doFetch: Fetch): Promise<ExitCode | null> {
  const url = target(cfg, { method: 'GET', path });
  const h = headers(cfg, 'text/event-stream', false);
  const abort = new AbortController();
  let silence: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(silence);
    silence = setTimeout(() => abort.abort(), SILENCE_MS);
  };
  arm();
  try {
    let res: Response;
    try {
      res = await doFetch(url, { headers: h, redirect: 'error', signal: abort.signal });
    } catch (e) {
      throw unreachable(url, e);
    }
    if (!res.ok) throw failure(res.status, await res.text().catch(() => ''));
    if (!res.body) return null;
    const parser = new SseParser();
    let last: WatchView | null = null;
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        arm();
        for (const m of parser.push(decoder.decode(value, { stream: true }))) {
          let data: unknown;
          try {
            data = JSON.parse(m.data);
          } catch {
            continue; // not a state message
          }
          const read = watchView(data);
          if (!read) continue;
          const v: WatchView = m.event === 'update' ? mergeUpdate(last, read) : read;
          last = v;
          display.show(v, m.data);
          const code = outcome(v);
          if (code !== null) {
            display.end(v);
            return code;
          }
        }
      }
    } catch (e) {
      if (e instanceof CliError) throw e;
      return null; // dropped or silent: the caller reconnects
    } finally {
      abort.abort();
    }
  } finally {
    clearTimeout(silence);
  }
}

export async function watchAction(cfg: CliConfig, id: string, eventsPath: string, io: WatchIo, doFetch: Fetch = fetch): Promise<ExitCode> {
  const display = new Display(io);
  for (let attempt = 0; ; attempt += 1) {
    const code = await readStream(cfg, eventsPath, display, doFetch);
    if (code !== null) return code;
    // the stream ended while the action ran (server restart, proxy): the state decides
    const data = await call(cfg, { method: 'GET', path: `/actions/${encodeURIComponent(id)}` }, doFetch);
    const v = watchView(data);
    if (!v) throw new CliError(EXIT.server, `the answer for action ${id} has no state (is --url the API base?)`);
    const final = outcome(v);
    if (final !== null) {
      display.show(v, JSON.stringify(get(data, 'action') ?? data)); // same shape as a stream message
      display.end(v);
      return final;
    }
    if (attempt >= MAX_RECONNECTS) throw new CliError(EXIT.server, `the live stream of action ${id} keeps closing; the action is still ${v.state}`);
    await io.sleep(1000 * (attempt + 1));
  }
}
