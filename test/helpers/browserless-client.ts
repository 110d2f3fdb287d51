/**
 * A minimal cookie-keeping HTTP client for page tests without a browser: logs in through the
 * real form, reads the CSRF token from the page like a browser would submit it.
 */
export class PageClient {
  private cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  async get(path: string): Promise<{ status: number; text: string; location: string | null }> {
    return this.request('GET', path);
  }

  async post(path: string, form: Record<string, string | string[]>): Promise<{ status: number; text: string; location: string | null }> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    return this.request('POST', path, body.toString());
  }

  async login(login: string, password: string): Promise<number> {
    const r = await this.post('/login', { login, password, next: '/', _csrf: await this.csrf('/login') });
    return r.status;
  }

  /** The CSRF token embedded in a page's forms. */
  async csrf(path = '/'): Promise<string> {
    const page = await this.get(path);
    const m = /name="_csrf" value="([^"]+)"/.exec(page.text);
    if (!m) throw new Error(`no CSRF token on ${path} (status ${page.status})`);
    return m[1];
  }

  private async request(method: string, path: string, body?: string) {
    const headers: Record<string, string> = { accept: 'text/html' };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(this.baseUrl + path, { method, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const value = pair.slice(i + 1);
      if (value === '' || /Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(pair.slice(0, i));
      else this.cookies.set(pair.slice(0, i), value);
    }
    return { status: res.status, text: await res.text(), location: res.headers.get('location') };
  }
}
