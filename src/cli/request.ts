/**
 * Validation of command-line values into an API request, pure: what a command sends is decided
 * here and unit-tested; the server validates again (it is the authority, with its localised
 * messages), the CLI only refuses what could not be a valid request at all.
 */
import { CliError, EXIT } from './exit-codes';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface ApiRequest {
  readonly method: Method;
  /** Relative to the API base, segments already encoded. */
  readonly path: string;
  readonly body?: Readonly<Record<string, unknown>>;
}

/** Values of util.parseArgs, after the command's own options were checked. */
export type Values = Readonly<Record<string, string | boolean | string[] | undefined>>;

export function usage(message: string): CliError {
  return new CliError(EXIT.usage, message);
}

/** A positional argument that goes into a body: present, one line. */
export function argument(what: string, raw: string | undefined): string {
  if (raw === undefined || raw === '') throw usage(`missing <${what}>`);
  if (raw.length > 200 || /[\x00-\x1f\x7f]/.test(raw)) throw usage(`<${what}>: ${JSON.stringify(raw)} is not valid`);
  return raw;
}

/** A path segment: an id or a name as the API knows them; encoded, never a `..`. */
export function segment(what: string, raw: string | undefined): string {
  const s = argument(what, raw);
  if (s === '.' || s === '..') throw usage(`<${what}>: ${JSON.stringify(s)} is not valid`);
  return encodeURIComponent(s);
}

export function str(v: Values, key: string): string | undefined {
  const x = v[key];
  if (x === undefined) return undefined;
  if (typeof x !== 'string') throw usage(`--${key} needs a value`);
  return x;
}

export function required(v: Values, key: string): string {
  const x = str(v, key);
  if (x === undefined || x === '') throw usage(`--${key} is required`);
  return x;
}

/** `a,b` or repeated flags → a list of non-empty names. */
export function list(v: Values, key: string): string[] | undefined {
  const x = v[key];
  if (x === undefined) return undefined;
  const parts = (Array.isArray(x) ? x : [String(x)]).flatMap((s) => s.split(',')).map((s) => s.trim());
  if (parts.some((p) => p === '')) throw usage(`--${key}: empty name in ${JSON.stringify(Array.isArray(x) ? x.join(',') : x)}`);
  return parts;
}

/** `--set key=value` (repeatable): wizard fields the CLI has no flag for (min_receivers, auto_reboot, …). */
export function extraFields(v: Values): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list(v, 'set') ?? []) {
    const m = /^([a-z][a-z0-9_]{0,40})=(.*)$/i.exec(kv);
    if (!m) throw usage(`--set: expected key=value, got ${JSON.stringify(kv)}`);
    out[m[1]] = m[2];
  }
  return out;
}

/** An ISO query string of the given filters, only those given. */
export function query(filters: Readonly<Record<string, string | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, val] of Object.entries(filters)) if (val !== undefined && val !== '') q.set(k, val);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Drops undefined fields so the body only says what the admin asked. */
export function body(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, x]) => x !== undefined));
}

/** Types that overwrite disks: `actions create` asks before sending them (or wants --yes). */
export const DESTRUCTIVE_TYPES: readonly string[] = ['clone', 'restore', 'deploy'];

/**
 * The body of POST /actions (and, with `cron`, of POST /schedules): the wizard's field names
 * (docs/api.md); `--set` adds the ones without a flag, named flags win over it.
 */
export function actionBody(v: Values): Record<string, unknown> {
  const type = required(v, 'type');
  if (!/^[a-z-]{1,20}$/.test(type)) throw usage(`--type: ${JSON.stringify(type)} is not an action type`);
  const emitter = str(v, 'emitter');
  if (type === 'clone' && emitter === undefined) throw usage('--emitter is required for a clone (the PC whose disk is copied)');
  if (type !== 'clone' && emitter !== undefined) throw usage('--emitter only applies to --type clone');
  required(v, 'parc');
  const parcs = list(v, 'parc') ?? [];
  return body({
    ...extraFields(v),
    type,
    parc: parcs.length === 1 ? parcs[0] : parcs,
    emitter,
    machines: list(v, 'machines'),
    disk: str(v, 'disk'),
    image: str(v, 'image'),
    compression: str(v, 'compression'),
    ...(str(v, 'at') !== undefined ? { start: 'at', start_at: str(v, 'at') } : {}),
  });
}
