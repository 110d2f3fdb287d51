/**
 * The module's tests log into memory, one JSON object per line ({level, msg, ...fields}), so a
 * test can check what was (not) logged. The module's side of the host contract only: it does
 * not use the standalone shell's logger (a host may log however it likes).
 */
import type { Logger } from '../../src/host/contract';

export type MemoryLogger = Logger & { readonly lines: string[] };

export function memoryLogger(lines: string[] = []): MemoryLogger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push(JSON.stringify({ level, msg, ...fields }));
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), lines };
}
