/**
 * Typed errors. Code anywhere throws these; exactly one HTTP middleware
 * (src/http/error-middleware.ts, and the shell's own) translates them to status codes.
 */
export class ClonageError extends Error {
  /** `ref`: the same error as a catalog message, for the pages a person reads (MessageRef below). */
  constructor(message: string, readonly ref?: MessageRef) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A catalog message to show a person instead of `message` (which stays English for logs, APIs and
 * agents): the key of a message catalog and its `{placeholder}` values, translated at render time
 * in the reader's language (docs/i18n.md).
 */
export interface MessageRef {
  readonly key: string;
  readonly vars?: Readonly<Record<string, string | number>>;
}

/** Bad input from a user, a form, a client or a config file. `field` names the culprit for form errors. */
export class InputError extends ClonageError {
  constructor(message: string, readonly field?: string, ref?: MessageRef) {
    super(message, ref);
  }
}

export class NotFoundError extends ClonageError {}
export class ForbiddenError extends ClonageError {}
/** Authentication missing or wrong (no session, bad token). */
export class UnauthorizedError extends ClonageError {}
/** The request is valid but clashes with current state (duplicate, already running, already consumed). */
export class ConflictError extends ClonageError {}

export function httpStatusOf(err: unknown): number {
  if (err instanceof InputError) return 400;
  if (err instanceof UnauthorizedError) return 401;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  // Client errors raised by Express itself, read as its own final handler does: the body parsers
  // (http-errors: too many parameters 413, unsupported charset or content-encoding 415, corrupt
  // compressed body 400) and the router (a malformed %-escape in a path parameter: URIError, 400).
  const e = err as { status?: unknown; expose?: unknown } | null;
  if (typeof e === 'object' && e !== null && e.expose !== false && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return e.status;
  }
  return 500;
}
