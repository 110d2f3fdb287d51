/**
 * REST API calls for tests (docs/api.md): a token created through the real "Jetons d'API" page,
 * and JSON requests with it.
 */
import type { Router } from 'express';
import { Client } from './hostile';
import type { USERS } from './test-shell';

export const API = '/modules/clonage/api/v1';

export interface ApiReply {
  readonly status: number;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- a test reads whatever came back
  readonly text: string;
  readonly headers: Headers;
}

export interface ApiCallOptions {
  readonly token?: string;
  /** A JSON body (serialised here). */
  readonly json?: unknown;
  /** A body sent as is. */
  readonly raw?: string | Buffer;
  readonly headers?: Record<string, string>;
}

export async function apiCall(baseUrl: string, method: string, path: string, o: ApiCallOptions = {}): Promise<ApiReply> {
  const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  let body: string | Buffer | undefined = o.raw;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + (path.startsWith('/modules/') ? path : API + path), { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** Creates a token on the tokens page as `who`; returns it as the page showed it (once). */
export async function tokenFor(baseUrl: string, who: keyof typeof USERS, label = `test ${who}`): Promise<{ token: string; client: Client; page: string }> {
  const client = await Client.as(baseUrl, who);
  const r = await client.send('POST', '/modules/clonage/tokens', { form: { label } });
  const token = /data-token>(clo_[^<]+)</.exec(r.text)?.[1];
  if (r.status !== 201 || !token) throw new Error(`no token for ${who}: ${r.status}`);
  return { token, client, page: r.text };
}

/** "METHOD /path/{param}" for every route of an Express router, read from its stack (the API has no nested router). */
export function mountedRoutes(router: Router): string[] {
  const out: string[] = [];
  for (const layer of router.stack as unknown as { route?: { path: string; methods: Record<string, boolean> } }[]) {
    if (!layer.route) continue;
    const path = layer.route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push(`${m.toUpperCase()} ${path}`);
  }
  return out.sort();
}
