import type { Logger } from '../host/contract';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One JSON line per event on stderr (journald/syslog friendly); `sink` is injectable for tests. */
export function jsonLogger(scope: string, minLevel: Level = 'info', sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger {
  const emit = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    sink(JSON.stringify({ t: new Date().toISOString(), level, scope, msg, ...fields }));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** A logger that keeps lines in memory, for tests that check what was (not) logged. */
export function memoryLogger(lines: string[] = []): Logger & { lines: string[] } {
  const l = jsonLogger('test', 'debug', (line) => lines.push(line));
  return Object.assign(l, { lines });
}
