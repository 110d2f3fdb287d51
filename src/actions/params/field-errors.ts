import { InputError, type MessageRef } from '../../common/domain/errors';

/**
 * Several field errors at once, so a form shows every mistake in one round trip. It is an
 * InputError (HTTP 400) whose `field` is the first culprit, for callers that only want one.
 * `errors` holds the English messages (APIs, logs); `refs` the catalog messages a form shows
 * in the user's language, where the parser gave one.
 */
export class FieldErrors extends InputError {
  constructor(
    readonly errors: Readonly<Record<string, string>>,
    readonly refs: Readonly<Record<string, MessageRef>> = {},
  ) {
    const [first] = Object.keys(errors);
    super(Object.values(errors).join('; '), first, first ? refs[first] : undefined);
  }
}

/** Collects InputErrors thrown by field parsers, keyed by field, then throws them together. */
export class FieldErrorCollector {
  private readonly errors: Record<string, string> = {};
  private readonly refs: Record<string, MessageRef> = {};

  /** Runs `parse`; on an InputError records it (each field of a FieldErrors) and returns undefined. */
  try<T>(fallbackField: string, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      if (e instanceof FieldErrors) for (const [f, m] of Object.entries(e.errors)) this.add(f, m, e.refs[f]);
      else this.add(e.field ?? fallbackField, e.message, e.ref);
      return undefined;
    }
  }

  add(field: string, message: string, ref?: MessageRef): void {
    if (field in this.errors) return;
    this.errors[field] = message;
    if (ref) this.refs[field] = ref;
  }

  has(field: string): boolean {
    return field in this.errors;
  }

  get empty(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  throwIfAny(): void {
    if (!this.empty) throw new FieldErrors({ ...this.errors }, { ...this.refs });
  }
}

/**
 * Errors of a FieldErrors, or of a single-field InputError, as a field → message map for a form.
 * With `translate`, a field that has a catalog message shows it (in the user's language); the
 * others keep their English message.
 */
export function fieldErrorsOf(e: InputError, translate?: (ref: MessageRef) => string | null): Record<string, string> {
  const show = (message: string, ref: MessageRef | undefined) => (translate && ref ? translate(ref) : null) ?? message;
  if (e instanceof FieldErrors) return Object.fromEntries(Object.entries(e.errors).map(([f, m]) => [f, show(m, e.refs[f])]));
  return { [e.field ?? '_']: show(e.message, e.ref) };
}
