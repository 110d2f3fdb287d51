/**
 * The OpenAPI 3.1 document of the REST API v1, written once here and served at
 * `<module>/api/v1/openapi.json`. A test (test/unit/api-openapi.test.ts) checks its paths and
 * methods are exactly the router's, and validates real responses against its schemas.
 */
type Json = Readonly<Record<string, unknown>>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const str: Json = { type: 'string' };
const strOrNull: Json = { type: ['string', 'null'] };
const int: Json = { type: 'integer' };
const intOrNull: Json = { type: ['integer', 'null'] };
const bool: Json = { type: 'boolean' };
const arrayOf = (items: Json): Json => ({ type: 'array', items });
const object = (properties: Record<string, Json>, required: string[] = Object.keys(properties)): Json => ({ type: 'object', properties, required });

const ERRORS = ['400', '401', '403', '404', '409', '413', '415'] as const;
const errorResponses = Object.fromEntries(ERRORS.map((s) => [s, { $ref: `#/components/responses/Error` }]));

const json = (schema: Json, description = 'OK'): Json => ({ description, content: { 'application/json': { schema } } });
const idParam = (name: string, pattern: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: { type: 'string', pattern } });
const query = (name: string, description: string, schema: Json = str): Json => ({ name, in: 'query', required: false, description, schema });
const body = (schema: Json): Json => ({ required: true, content: { 'application/json': { schema } } });

function op(summary: string, responses: Record<string, Json>, extra: Json = {}): Json {
  return { summary, ...extra, responses: { ...responses, ...errorResponses } };
}

const ACTION_ID = idParam('id', '^a_[A-Za-z0-9_-]+$', 'action id');
const IMAGE_ID = idParam('id', '^\\d{1,12}$', 'image id');
const SCHEDULE_ID = idParam('id', '^[A-Za-z0-9_-]{1,64}$', 'schedule id');

/** The wizard's fields (docs/actions.md): the same names, the same rules, the same messages. */
const actionFields: Record<string, Json> = {
  type: { enum: ['clone', 'backup', 'restore', 'report', 'memtest', 'deploy'] },
  parc: { oneOf: [str, arrayOf(str)], description: 'the parc(s) the machines are taken from' },
  emitter: { ...str, description: 'clone: the sender' },
  machines: { ...arrayOf(str), description: 'clone: the receivers; other types: the targets' },
  start: { enum: ['now', 'at', 'cron'] },
  start_at: { ...str, description: 'start: at — ISO date (with zone) or YYYY-MM-DDTHH:MM (server time)' },
  cron: { ...str, description: 'start: cron — five-field cron rule (backup, report)' },
  domain: str, disk: str, compression: str, image: str, source: str, store: { enum: ['server', 'partition', 'smb'] }, storage_part: str, auto_reboot: str,
  min_receivers: { type: ['integer', 'string'] }, min_wait: { type: ['integer', 'string'] }, max_wait: { type: ['integer', 'string'] }, start_timeout: { type: ['integer', 'string'] },
};

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'clonage REST API',
    version: '1',
    description: 'Per-admin API tokens (Authorization: Bearer clo_…), created on the module page “Jetons d’API”. ' +
      'The token acts with its owner’s current rights and delegated parcs. Accept-Language: en for English messages, French otherwise.',
  },
  servers: [{ url: '/modules/clonage/api/v1' }],
  security: [{ bearer: [] }],
  paths: {
    '/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: json({ type: 'object' }) } } },
    '/readiness': { get: op('Readiness checklist', { 200: json(ref('Readiness')) }) },
    '/parcs': { get: op('Parcs delegated to the caller', { 200: json(arrayOf(ref('Parc'))) }) },
    '/parcs/{parc}/machines': {
      get: op('Machines of a parc', { 200: json(arrayOf(ref('Machine'))) }, { parameters: [idParam('parc', '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$', 'parc name')] }),
    },
    '/machines/{machine}/report': {
      get: op('Latest disk report and backups of a machine', { 200: json(ref('MachineReport')) }, { parameters: [idParam('machine', '^[A-Za-z0-9-]{1,15}$', 'machine name')] }),
    },
    '/actions': {
      get: op('Actions of the caller’s parcs (newest 200)', { 200: json(arrayOf(ref('ActionSummary'))) }, {
        parameters: [query('type', 'action type'), query('state', 'pending | running | finished'), query('parc', 'parc name'), query('machine', 'machine name'),
          query('from', 'YYYY-MM-DD'), query('to', 'YYYY-MM-DD')],
      }),
      post: op('Create an action (or a recurring schedule with start: cron); with dryRun=1 only check it', {
        200: json(object({ summary: arrayOf(object({ label: str, value: str })) }), 'dryRun=1: valid, nothing stored; the wizard’s summary'),
        201: json({ oneOf: [object({ action: ref('Action') }), object({ schedule: ref('Schedule') })] }, 'Created'),
      }, { requestBody: body(ref('ActionRequest')), parameters: [query('dryRun', '1: check only, store nothing', { enum: ['1'] })] }),
    },
    '/actions/{id}': { get: op('One action with its targets and events', { 200: json(object({ action: ref('Action') })) }, { parameters: [ACTION_ID] }) },
    '/actions/{id}/events': {
      get: op('Live progress (Server-Sent Events: snapshot, update)', { 200: { description: 'event stream', content: { 'text/event-stream': { schema: str } } } }, { parameters: [ACTION_ID] }),
    },
    '/actions/{id}/cancel': { post: op('Cancel', { 200: json(object({ action: ref('Action') })) }, { parameters: [ACTION_ID] }) },
    '/actions/{id}/start': {
      post: op('Start a waiting clone now with the receivers that are ready', { 200: json(object({ receivers: int, action: ref('Action') })) }, { parameters: [ACTION_ID] }),
    },
    '/actions/{id}/retry-failed': {
      post: op('New action, same parameters, on the failed PCs', { 201: json(object({ action: ref('Action') }), 'Created') }, { parameters: [ACTION_ID] }),
    },
    '/images': { get: op('Good images of the caller’s machines', { 200: json(arrayOf(ref('Image'))) }, { parameters: [query('machine', 'machine name')] }) },
    '/images/{id}': {
      delete: op('Delete a server image (the machine’s last good image needs confirmLast=1)', { 200: json(object({ deleted: ref('Image') })) }, {
        parameters: [IMAGE_ID, query('confirmLast', '1 to delete the last good image', { enum: ['0', '1'] })],
      }),
    },
    '/images/{id}/rename': {
      post: op('Rename a server image', { 200: json(object({ image: ref('Image') })) }, { parameters: [IMAGE_ID], requestBody: body(object({ name: str })) }),
    },
    '/images/{id}/protect': {
      post: op('Protect from retention, or not', { 200: json(object({ image: ref('Image') })) }, { parameters: [IMAGE_ID], requestBody: body(object({ protected: bool })) }),
    },
    '/schedules': {
      get: op('Schedules of the caller’s parcs', { 200: json(arrayOf(ref('Schedule'))) }),
      post: op('Create a schedule (the wizard’s fields; cron required)', { 201: json(object({ schedule: ref('Schedule') }), 'Created') }, { requestBody: body(ref('ActionRequest')) }),
    },
    '/schedules/{id}': { delete: op('Delete a schedule', { 200: json(object({ deleted: str })) }, { parameters: [SCHEDULE_ID] }) },
    '/schedules/{id}/pause': { post: op('Pause', { 200: json(object({ schedule: ref('Schedule') })) }, { parameters: [SCHEDULE_ID] }) },
    '/schedules/{id}/resume': { post: op('Resume', { 200: json(object({ schedule: ref('Schedule') })) }, { parameters: [SCHEDULE_ID] }) },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'clo_<id>_<secret>' } },
    responses: { Error: json(ref('Error'), 'Error') },
    schemas: {
      Error: object({
        error: object({
          code: { enum: ['invalid_field', 'bad_request', 'invalid_json', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'unsupported_media_type', 'internal'] },
          field: str, fields: { type: 'object', additionalProperties: str }, message: str,
        }, ['code', 'message']),
      }),
      Readiness: object({ overall: { enum: ['ok', 'warn', 'bad'] }, items: arrayOf(object({ id: str, level: { enum: ['ok', 'warn', 'bad'] }, label: str, detail: str, fix: strOrNull })) }),
      Parc: object({ name: str, machineCount: int }),
      Machine: object({ name: str, mac: strOrNull, ip: strOrNull, reserved: bool, selectable: bool, reason: strOrNull, busyActionId: strOrNull, lastReportAt: strOrNull }),
      MachineReport: object({ name: str, mac: str, report: { oneOf: [{ type: 'null' }, object({ id: int, createdAt: str, parsed: { type: 'object' } })] },
        history: arrayOf(object({ id: int, createdAt: str, bytes: int })), backups: arrayOf({ type: 'object' }) }),
      ActionRequest: { type: 'object', properties: actionFields, required: ['type', 'parc'], additionalProperties: false },
      ActionSummary: object({
        id: str, type: str, state: str, parcs: arrayOf(str), machines: arrayOf(str), createdBy: str, createdAt: str, startAt: str, finishedAt: strOrNull,
        counts: object({ targets: int, succeeded: int, failed: int }),
      }),
      Target: object({
        id: str, name: str, mac: str, ip: str, role: str, state: str, stage: strOrNull, percent: { type: ['number', 'null'] }, bytes: intOrNull,
        rateKbps: { type: ['number', 'null'] }, elapsedSeconds: intOrNull, exitCode: intOrNull, message: strOrNull, logTail: str, diskIncomplete: bool,
      }),
      Event: { type: 'object', properties: { id: int, at: str, level: str, message: str, targetId: strOrNull }, required: ['message'] },
      Action: object({
        id: str, type: str, state: str, params: { type: 'object' }, parcs: arrayOf(str), port: intOrNull, createdBy: str, createdAt: str, startAt: str,
        startedAt: strOrNull, finishedAt: strOrNull, elapsedSeconds: intOrNull, error: strOrNull, targets: arrayOf(ref('Target')), events: arrayOf(ref('Event')),
        canCancel: bool, canStartNow: bool, counts: { type: 'object' }, partial: bool, canRetry: bool,
      }),
      Image: object({
        id: int, machine: str, mac: str, name: str, createdAt: str, sizeBytes: intOrNull, store: { enum: ['server', 'partition', 'smb'] },
        verifiedBy: { enum: ['server', 'agent'] }, retention: { enum: ['protected', 'kept', 'next', 'lastGood'] }, protected: bool, manageable: bool,
      }),
      Schedule: object({
        id: str, type: str, cron: str, parcs: arrayOf(str), machines: arrayOf(str), createdBy: str, enabled: bool, disabledByServer: bool,
        nextRuns: arrayOf(str), lastRun: { oneOf: [{ type: 'null' }, object({ actionId: str, state: str, partial: bool, at: str })] },
      }),
    },
  },
} as const;
