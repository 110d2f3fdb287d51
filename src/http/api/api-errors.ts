/**
 * The REST API's error body, built from any error by the module's error middleware (one place):
 * `{ error: { code, field?, fields?, message } }` with a 4xx status for every bad input, the
 * message in the caller's language (Accept-Language: en, French otherwise) when the error carries
 * a catalog message, and `fields` holding every field error a wizard form would show at once.
 */
import { ClonageError, InputError, type MessageRef } from '../../common/domain/errors';
import { FieldErrors, fieldErrorsOf } from '../../actions/params/field-errors';
import { msg, translateRef, type ModuleTranslate } from '../../i18n/module-messages';

export const API_BASE_PATH = '/api/v1';

export type ApiErrorCode =
  | 'invalid_field' | 'bad_request' | 'invalid_json' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict'
  | 'too_large' | 'unsupported_media_type' | 'internal';

export interface ApiErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly field?: string;
    readonly fields?: Readonly<Record<string, string>>;
    readonly message: string;
  };
}

/** The body-parser's own errors, read by their `type` (http-errors). */
function parserCode(err: unknown): { code: ApiErrorCode; ref: MessageRef } | null {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') return { code: 'invalid_json', ref: msg('api.badJson') };
  if (type === 'entity.too.large') return { code: 'too_large', ref: msg('api.tooLarge') };
  return null;
}

const CODE_OF_STATUS: Readonly<Record<number, ApiErrorCode>> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type',
};

export function apiErrorBody(err: unknown, status: number, t: ModuleTranslate): ApiErrorBody {
  if (status === 500) return { error: { code: 'internal', message: t('api.internal') } };
  const parser = parserCode(err);
  if (parser) return { error: { code: parser.code, message: t(parser.ref.key as Parameters<ModuleTranslate>[0]) } };
  const translate = (ref: MessageRef) => translateRef(t, ref);
  const english = err instanceof Error ? err.message : String(err);
  if (err instanceof InputError && err.field) {
    const fields = fieldErrorsOf(err, translate);
    const message = err instanceof FieldErrors ? Object.values(fields).join(' ') : fields[err.field] ?? english;
    return { error: { code: 'invalid_field', field: err.field, fields, message } };
  }
  const message = (err instanceof ClonageError && err.ref ? translate(err.ref) : null) ?? english;
  return { error: { code: CODE_OF_STATUS[status] ?? 'bad_request', message } };
}
