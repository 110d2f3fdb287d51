import { InputError } from '../domain/errors';

/**
 * Several field errors at once, so a form shows every mistake in one round trip. It is an
 * InputError (HTTP 400) whose `field` is the first culprit, for callers that only want one.
 */
export class FieldErrors extends InputError {
  constructor(readonly errors: Readonly<Record<string, string>>) {
    const [first] = Object.keys(errors);
    super(Object.values(errors).join('; '), first);
  }
}

/** Collects InputErrors thrown by field parsers, keyed by field, then throws them together. */
export class FieldErrorCollector {
  private readonly errors: Record<string, string> = {};

  /** Runs `parse`; on an InputError records it (each field of a FieldErrors) and returns undefined. */
  try<T>(fallbackField: string, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      if (e instanceof FieldErrors) for (const [f, m] of Object.entries(e.errors)) this.add(f, m);
      else this.add(e.field ?? fallbackField, e.message);
      return undefined;
    }
  }

  add(field: string, message: string): void {
    if (!(field in this.errors)) this.errors[field] = message;
  }

  has(field: string): boolean {
    return field in this.errors;
  }

  get empty(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  throwIfAny(): void {
    if (!this.empty) throw new FieldErrors({ ...this.errors });
  }
}

/** Errors of a FieldErrors, or of a single-field InputError, as a field → message map for a form. */
export function fieldErrorsOf(e: InputError): Record<string, string> {
  if (e instanceof FieldErrors) return { ...e.errors };
  return { [e.field ?? '_']: e.message };
}
