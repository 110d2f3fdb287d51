/**
 * A real browser for page tests: Debian's chromium driven by playwright-core (no browser
 * download). One browser per suite, a fresh context (cookies, storage) per test, full-page
 * screenshots under test-artifacts/screenshots/<suite>/<nn-name>.png, and a record of the
 * page's JavaScript errors so a test can assert there were none.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_ROOT = path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');

/** Every wait of a page test is bounded by this (ms) unless it says otherwise. */
export const PAGE_TIMEOUT_MS = Number(process.env.PAGE_TIMEOUT_MS ?? 20_000);

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** Starts headless chromium; fails clearly when it is not installed. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS], timeout: 30_000 });
}

export interface TestPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Uncaught exceptions and console errors seen on the page so far, minus the allowed ones. */
  readonly errors: string[];
  /** Console errors a test expects (e.g. chromium's "Failed to load resource … 403" on a refused page). */
  allow(pattern: RegExp): void;
  close(): Promise<void>;
}

/** A fresh context (no cookies) and page, French locale, bounded default timeouts; optionally without JavaScript. */
export async function openPage(browser: Browser, baseURL: string, opts: { javaScriptEnabled?: boolean } = {}): Promise<TestPage> {
  const context = await browser.newContext({
    baseURL,
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
    locale: 'fr-FR',
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(PAGE_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(PAGE_TIMEOUT_MS);
  const page = await context.newPage();
  const errors: string[] = [];
  const allowed: RegExp[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const text = `${m.text()} (${m.location().url || page.url()})`;
    if (m.type() === 'error' && !allowed.some((re) => re.test(text))) errors.push(`console: ${text}`);
  });
  return {
    context,
    page,
    errors,
    allow(pattern) {
      allowed.push(pattern);
    },
    async close() {
      await context.close().catch(() => undefined);
    },
  };
}

export interface Screenshots {
  readonly dir: string;
  /** Files written so far, in order. */
  readonly files: string[];
  /** Full-page PNG named <nn-name>.png (nn counts up within the suite). */
  shot(page: Page, name: string): Promise<string>;
}

/** Screenshots of one suite; the suite's folder is emptied first so it only holds this run. */
export function screenshots(suite: string): Screenshots {
  const dir = path.join(SCREENSHOT_ROOT, suite);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  return {
    dir,
    files,
    async shot(page, name) {
      const safe = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-|-$/g, '');
      const file = path.join(dir, `${String(files.length + 1).padStart(2, '0')}-${safe}.png`);
      await page.screenshot({ path: file, fullPage: true, animations: 'disabled', timeout: PAGE_TIMEOUT_MS });
      files.push(file);
      return file;
    },
  };
}

/** Logs in through the shell's login form, like a person would; resolves on the page after login. */
export async function loginThroughForm(page: Page, login: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Identifiant').fill(login);
  await page.getByLabel('Mot de passe').fill(password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login')),
    page.getByRole('button', { name: 'Se connecter' }).click(),
  ]);
}

/**
 * Retries `assertion` (jest expects on what the page shows now) until it passes, at most
 * `timeoutMs`; then rethrows its last failure. Page state arrives asynchronously (navigation,
 * live stream), so every look at a page goes through this: bounded, never a fixed sleep.
 */
export async function eventually<T>(assertion: () => Promise<T>, timeoutMs = PAGE_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (e) {
      if (Date.now() >= deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const squash = (s: string | null) => (s ?? '').replace(/\s+/g, ' ').trim();

/** Bounded looks at locators (each an `eventually` around a jest expect). */
export const see = {
  /** Exact text of every match (whitespace collapsed), in order. */
  text: (loc: Locator, expected: string | readonly string[]) =>
    eventually(async () => expect((await loc.allTextContents()).map(squash)).toEqual(typeof expected === 'string' ? [expected] : [...expected])),
  /** The single match's text contains `part`. */
  contains: (loc: Locator, part: string) => eventually(async () => expect(squash(await loc.textContent({ timeout: 1000 }))).toContain(part)),
  notContains: (loc: Locator, part: string) => eventually(async () => expect(squash(await loc.textContent({ timeout: 1000 }))).not.toContain(part)),
  count: (loc: Locator, n: number) => eventually(async () => expect(await loc.count()).toBe(n)),
  attr: (loc: Locator, name: string, value: string) => eventually(async () => expect(await loc.getAttribute(name, { timeout: 1000 })).toBe(value)),
  value: (loc: Locator, value: string) => eventually(async () => expect(await loc.inputValue({ timeout: 1000 })).toBe(value)),
  /** A DOM property of the single match (e.g. a <progress>'s value). */
  prop: (loc: Locator, prop: string, value: unknown) =>
    eventually(async () => expect(await loc.evaluate((el, p) => (el as unknown as Record<string, unknown>)[p], prop, { timeout: 1000 })).toEqual(value)),
  checked: (loc: Locator) => eventually(async () => expect(await loc.isChecked({ timeout: 1000 })).toBe(true)),
  disabled: (loc: Locator) => eventually(async () => expect(await loc.isDisabled({ timeout: 1000 })).toBe(true)),
  visible: (loc: Locator) => eventually(async () => expect(await loc.isVisible()).toBe(true)),
};
