/**
 * HTTP to the REST API with node's fetch: the token as a Bearer header, the language, and every
 * failure turned into a CliError whose exit code says what went wrong (exit-codes.ts) and whose
 * message is the server's own localised sentence when it sent one.
 */
import type { CliConfig } from './config';
import { CliError, EXIT, exitOfStatus } from './exit-codes';
import type { ApiRequest } from './request';
import { clean, get } from './render';

export type Fetch = typeof fetch;

/** A plain request never hangs a script: the API answers in milliseconds when it is up. */
export const REQUEST_TIMEOUT_MS = 30_000;

export function headers(cfg: CliConfig, accept: string, withBody: boolean): Record<string, string> {
  if (cfg.token === null) {
    throw new CliError(EXIT.auth, 'no API token: pass --token, set CLONAGE_TOKEN or write it to ~/.config/clonage/token (mode 600); create one on the API tokens page');
  }
  const h: Record<string, string> = { Authorization: `Bearer ${cfg.token}`, Accept: accept };
  if (cfg.lang) h['Accept-Language'] = cfg.lang;
  if (withBody) h['Content-Type'] = 'application/json';
  return h;
}

/** The API's error body `{"error": {code, field, message}}` → one line; anything else → the status. */
export function errorLine(status: number, text: string): string {
  let data: unknown = null;
  try {
    data = JSON.parse(text);
  } catch {
    /* not JSON: a proxy's page, a crash */
  }
  const err = get(data, 'error');
  const message = get(err, 'message');
  if (typeof message === 'string' && message !== '') {
    const field = get(err, 'field');
    return clean(message) + (typeof field === 'string' && field !== '' ? ` (field: ${clean(field)})` : '');
  }
  return `HTTP ${status}${status === 404 ? ': not found (is --url the API base?)' : ''}`;
}

export function failure(status: number, text: string): CliError {
  return new CliError(exitOfStatus(status), errorLine(status, text));
}

export function unreachable(url: string, e: unknown): CliError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e as Error).message;
  return new CliError(EXIT.server, `cannot reach ${url}: ${clean(String(why))}`);
}

export function target(cfg: CliConfig, req: ApiRequest): string {
  return cfg.url + req.path;
}

/** One request; resolves to the parsed JSON answer (null for an empty one). */
export async function call(cfg: CliConfig, req: ApiRequest, doFetch: Fetch = fetch): Promise<unknown> {
  const url = target(cfg, req);
  const h = headers(cfg, 'application/json', req.body !== undefined);
  let res: Response;
  try {
    res = await doFetch(url, {
      method: req.method,
      headers: h,
      body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
      redirect: 'error',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    throw unreachable(url, e);
  }
  const text = await res.text().catch((e: unknown) => {
    throw unreachable(url, e);
  });
  if (!res.ok) throw failure(res.status, text);
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(EXIT.server, `the answer of ${url} is not JSON (is --url the API base?)`);
  }
}
