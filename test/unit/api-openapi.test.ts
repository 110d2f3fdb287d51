/**
 * Issue 17 item 3: the OpenAPI 3.1 document names exactly the routes the API router mounts
 * (read from the router's stack, as hostile-login reads the page routes from the source), and
 * its schemas compile, so the integration tests can validate real responses against them.
 */
import Ajv2020 from 'ajv/dist/2020';
import { apiRouter, type ApiDeps } from '../../src/http/api/api-router';
import { OPENAPI_DOCUMENT } from '../../src/http/api/openapi';
import { mountedRoutes } from '../helpers/api-client';
import { ACTION_BODY_FIELDS } from '../../src/http/api/api-action-routes';
import { ACTION_TYPES } from '../../src/actions/model/action-types';

function documentedRoutes(): string[] {
  const out: string[] = [];
  for (const [path, ops] of Object.entries(OPENAPI_DOCUMENT.paths)) for (const m of Object.keys(ops)) out.push(`${m.toUpperCase()} ${path}`);
  return out.sort();
}

describe('OpenAPI document', () => {
  // The router is only built: no request reaches the services, so none is needed.
  const router = apiRouter({} as ApiDeps);

  test('every mounted API route is documented, and every documented route is mounted', () => {
    const mounted = mountedRoutes(router);
    expect(mounted.length).toBeGreaterThan(15);
    expect(mounted).toEqual(documentedRoutes());
  });

  test('it is OpenAPI 3.1 and every $ref resolves; its schemas compile as JSON Schema 2020-12', () => {
    expect(OPENAPI_DOCUMENT.openapi).toBe('3.1.0');
    const text = JSON.stringify(OPENAPI_DOCUMENT);
    for (const m of text.matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)) {
      expect((OPENAPI_DOCUMENT.components as Record<string, Record<string, unknown>>)[m[1]]?.[m[2]]).toBeDefined();
    }
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...OPENAPI_DOCUMENT, $id: 'openapi' });
    for (const name of Object.keys(OPENAPI_DOCUMENT.components.schemas)) expect(ajv.getSchema(`openapi#/components/schemas/${name}`)).toBeDefined();
    const error = ajv.getSchema('openapi#/components/schemas/Error')!;
    expect(error({ error: { code: 'not_found', message: 'x' } })).toBe(true);
    expect(error({ error: { code: 'oops', message: 'x' } })).toBe(false);
  });

  test('the action body it documents is the one the API reads: the wizard\'s fields and types', () => {
    const request = OPENAPI_DOCUMENT.components.schemas.ActionRequest;
    expect(Object.keys(request.properties).sort()).toEqual([...ACTION_BODY_FIELDS].sort());
    expect([...(request.properties.type as { enum: readonly string[] }).enum].sort()).toEqual([...ACTION_TYPES].sort());
  });
});
