/**
 * Where the CLI talks to and with which token: flags first, then the environment, then the token
 * file. The file system is passed in so the rules (a token file readable by others is refused,
 * like ssh refuses a private key) are tested without touching $HOME.
 */
import path from 'node:path';
import { CliError, EXIT } from './exit-codes';

/** The standalone shell's default listener (src/shell/config.ts) and the module's API mount. */
export const DEFAULT_URL = 'http://127.0.0.1:8080/modules/clonage/api/v1';

export type Lang = 'en' | 'fr';

export interface CliConfig {
  readonly url: string;
  /** null: no token found; commands that need one fail with EXIT.auth before any request. */
  readonly token: string | null;
  readonly lang: Lang | null;
}

export interface ConfigFs {
  /** null when the file does not exist. */
  stat(file: string): { mode: number } | null;
  read(file: string): string;
}

export interface ConfigInput {
  readonly flags: { url?: string; token?: string; lang?: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fs: ConfigFs;
}

/** `$XDG_CONFIG_HOME/clonage/token`, else `~/.config/clonage/token`; null without a home. */
export function tokenFilePath(env: ConfigInput['env']): string | null {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? path.join(env.HOME, '.config') : null);
  return base ? path.join(base, 'clonage', 'token') : null;
}

function parseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(EXIT.usage, `--url: ${JSON.stringify(raw)} is not a URL (expected ${DEFAULT_URL})`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(EXIT.usage, `--url: only http:// and https:// are supported`);
  if (u.username || u.password) throw new CliError(EXIT.usage, '--url: put the token in --token or the token file, not in the URL');
  if (u.search || u.hash) throw new CliError(EXIT.usage, '--url: the API base URL takes no query or fragment');
  return u.toString().replace(/\/+$/, '');
}

/** A token is one printable word; anything else (a pasted line break, spaces) would corrupt the header. */
function checkToken(token: string, from: string): string {
  if (!/^[\x21-\x7e]{1,512}$/.test(token)) throw new CliError(EXIT.usage, `${from}: the token must be one word of printable ASCII`);
  return token;
}

function tokenFromFile(input: ConfigInput): string | null {
  const file = tokenFilePath(input.env);
  if (!file) return null;
  const st = input.fs.stat(file);
  if (!st) return null;
  if ((st.mode & 0o077) !== 0) {
    throw new CliError(EXIT.auth, `${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${file}`);
  }
  const token = input.fs.read(file).trim();
  return token ? checkToken(token, file) : null;
}

export function resolveConfig(input: ConfigInput): CliConfig {
  const { flags, env } = input;
  const url = parseUrl(flags.url ?? (env.CLONAGE_URL || DEFAULT_URL));
  const lang = flags.lang ?? null;
  if (lang !== null && lang !== 'en' && lang !== 'fr') throw new CliError(EXIT.usage, `--lang: expected en or fr, got ${JSON.stringify(lang)}`);
  let token: string | null;
  if (flags.token !== undefined) token = checkToken(flags.token, '--token');
  else if (env.CLONAGE_TOKEN) token = checkToken(env.CLONAGE_TOKEN, 'CLONAGE_TOKEN');
  else token = tokenFromFile(input);
  return { url, token, lang };
}
