/**
 * The CLI's exit codes, one table for the code, `clonage --help` and docs/cli.md, so a script can
 * tell "the action failed on some PCs" from "my token is wrong" from "the server is down".
 */
export const EXIT = {
  ok: 0,
  /** `actions watch`: the action failed (no PC succeeded). */
  actionFailed: 1,
  /** Bad command line: unknown command or flag, missing or malformed argument. */
  usage: 2,
  /** No token, a token the server refuses (401), or rights that do not allow the request (403). */
  auth: 3,
  /** The action, image, schedule, parc or machine does not exist (or is not visible to you). */
  notFound: 4,
  /** Network error, timeout, a 5xx answer or an answer that is not the API's JSON. */
  server: 5,
  /** The server refused the request's content (invalid field, conflict, too large): see the message. */
  rejected: 6,
  /** `actions watch`: the action ended with some PCs succeeded and some failed. */
  partial: 7,
  /** `actions watch`: the action was cancelled. */
  cancelled: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_TABLE: readonly (readonly [ExitCode, string])[] = [
  [EXIT.ok, 'success (watch: the action succeeded on every PC)'],
  [EXIT.actionFailed, 'watch: the action failed'],
  [EXIT.usage, 'usage error (unknown command or flag, bad argument)'],
  [EXIT.auth, 'no token, token refused (401) or forbidden (403)'],
  [EXIT.notFound, 'not found (404)'],
  [EXIT.server, 'server or network error (5xx, unreachable, not the API)'],
  [EXIT.rejected, 'request refused by the server (invalid field, conflict: 400/409/413/422)'],
  [EXIT.partial, 'watch: the action ended with errors (some PCs failed, some succeeded)'],
  [EXIT.cancelled, 'watch: the action was cancelled'],
];

/** The exit code of an HTTP error status. */
export function exitOfStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status >= 400 && status < 500) return EXIT.rejected;
  return EXIT.server;
}

/** A failure the CLI reports on stderr and exits with. */
export class CliError extends Error {
  constructor(readonly exitCode: ExitCode, message: string) {
    super(message);
  }
}
