/**
 * API answers → text for a terminal: aligned tables and key/value blocks, pure (golden-tested).
 * Values from the server are printed as data: control characters are replaced so a name can
 * never move the cursor or change the terminal's colours.
 */

export type Row = Readonly<Record<string, unknown>>;

export interface Column {
  readonly header: string;
  readonly value: (row: Row) => unknown;
  /** Right-aligned (numbers, sizes). */
  readonly right?: boolean;
}

/** One line of printable text: control characters (escape sequences, line breaks) become `?`. */
export function clean(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}

/** A cell: strings as they are, numbers and booleans as written, lists comma-joined, nothing as `-`. */
export function cell(x: unknown): string {
  if (x === null || x === undefined || x === '') return '-';
  if (Array.isArray(x)) return x.length ? clean(x.map((e) => (typeof e === 'object' ? JSON.stringify(e) : String(e))).join(',')) : '-';
  if (typeof x === 'boolean') return x ? 'yes' : 'no';
  if (typeof x === 'object') return clean(JSON.stringify(x));
  return clean(String(x));
}

/** Width in terminal columns (code points; the module's names are ASCII, French messages are not). */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return right ? fill + s : s + fill;
}

export function table(columns: readonly Column[], rows: readonly Row[], empty = '(none)'): string {
  if (rows.length === 0) return `${empty}\n`;
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r))));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i]))));
  const line = (vals: string[]) => vals.map((v, i) => pad(v, widths[i], columns[i].right === true && i > 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** `key: value` lines, keys aligned. */
export function fields(pairs: readonly (readonly [string, unknown])[]): string {
  const w = Math.max(...pairs.map(([k]) => width(k)));
  return pairs.map(([k, v]) => `${pad(`${k}:`, w + 1, false)} ${cell(v)}`).join('\n') + '\n';
}

/** A byte count in binary units, as the pages show sizes. */
export function bytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A field of an object by name, or undefined (answers are JSON of unknown shape until checked). */
export function get(row: unknown, key: string): unknown {
  return row !== null && typeof row === 'object' && !Array.isArray(row) ? (row as Row)[key] : undefined;
}

/** The rows of a list answer: a bare array, or the array under `key` (`{"actions": [...]}`). */
export function rowsOf(data: unknown, key: string): Row[] {
  const arr = Array.isArray(data) ? data : get(data, key);
  return Array.isArray(arr) ? arr.filter((r): r is Row => r !== null && typeof r === 'object' && !Array.isArray(r)) : [];
}
