/**
 * Every `clonage` command as data: its words, arguments, flags, the request it sends and how the
 * answer is printed. Adding a command is adding an entry here (help and parsing follow).
 */
import { actionBody, argument, query, segment, str, required, type ApiRequest, type Values } from './request';
import { bytes, cell, fields, get, rowsOf, table, type Column, type Row } from './render';
import { watchView } from './progress';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly help: string;
  readonly value?: string;
}

export interface CommandSpec {
  /** The words that name it: ['actions', 'ls'], ['readiness']. */
  readonly words: readonly string[];
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly summary: string;
  /** How it runs: one request (the default), the live stream, or a create that may ask first. */
  readonly kind?: 'request' | 'watch';
  readonly request: (args: readonly string[], v: Values) => ApiRequest;
  readonly render: (data: unknown, v: Values) => string;
}

const O = {
  state: { type: 'string', value: 'S', help: 'pending (not started), running or finished' },
  status: { type: 'string', value: 'S', help: 'same as --state' },
  type: { type: 'string', value: 'T', help: 'action type: clone, backup, restore, deploy, report, memtest' },
  parc: { type: 'string', value: 'P', help: 'parc name (create: several as P1,P2)' },
  emitter: { type: 'string', value: 'PC', help: 'clone: the PC whose disk is copied' },
  machines: { type: 'string', multiple: true, value: 'A,B', help: 'only these PCs of the parc (default: all); repeatable' },
  disk: { type: 'string', value: 'D', help: 'disk (e.g. sda, nvme0n1)' },
  image: { type: 'string', value: 'NAME', help: 'image name (backup: to write, restore: to read)' },
  compression: { type: 'string', value: 'C', help: 'none, zstd, gzip or lzop' },
  at: { type: 'string', value: 'TIME', help: "start later: the server's local time YYYY-MM-DDTHH:MM, or ISO with a zone" },
  cron: { type: 'string', value: 'RULE', help: 'cron rule (minute hour day month weekday)' },
  set: { type: 'string', multiple: true, value: 'K=V', help: 'other wizard field (min_receivers=3, auto_reboot=success, store=smb…); repeatable' },
  yes: { type: 'boolean', help: 'do not ask before overwriting disks' },
  machine: { type: 'string', value: 'PC', help: 'only those of this PC' },
  from: { type: 'string', value: 'DAY', help: 'created on or after this day (YYYY-MM-DD)' },
  to: { type: 'string', value: 'DAY', help: 'created on or before this day (YYYY-MM-DD)' },
  'confirm-last': { type: 'boolean', help: "delete even the PC's last good image" },
} as const satisfies Record<string, OptionSpec>;

const pick = <K extends keyof typeof O>(...keys: K[]) => Object.fromEntries(keys.map((k) => [k, O[k]])) as Pick<typeof O, K>;

const byId = (what: string, verb: string, action = verb) => (args: readonly string[]): ApiRequest =>
  ({ method: 'POST', path: `/${what}/${segment('id', args[0])}/${action}`, body: {} });

const counts = (r: Row) => {
  const c = get(r, 'counts');
  return c ? `${get(c, 'succeeded') ?? 0}/${get(c, 'targets') ?? get(c, 'total') ?? 0}` + (get(c, 'failed') ? ` (${get(c, 'failed')} failed)` : '') : undefined;
};
const state = (r: Row) => get(r, 'status') ?? get(r, 'state');

const ACTION_COLUMNS: Column[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'TYPE', value: (r) => r.type },
  { header: 'STATE', value: state },
  { header: 'PARCS', value: (r) => r.parcs },
  { header: 'CREATED', value: (r) => r.createdAt },
  { header: 'PCS OK', value: counts, right: true },
];

/** One action, as `show`, `create`, `cancel`, … print it: its fields, then its PCs. */
export function renderAction(data: unknown): string {
  const a = (get(data, 'action') ?? data) as Row;
  const head = fields([['id', a.id], ['type', a.type], ['state', state(a)], ['title', a.title], ['parcs', a.parcs], ['created', a.createdAt],
    ['start', a.startAt], ['finished', a.finishedAt], ['error', a.error]].filter(([k, v]) => k === 'id' || (v !== undefined && v !== null)) as [string, unknown][]);
  const view = watchView(data);
  if (!view || view.targets.length === 0) return head;
  const pcs = table([
    { header: 'PC', value: (t) => t.name },
    { header: 'STATE', value: (t) => t.state },
    { header: '%', value: (t) => (typeof t.percent === 'number' ? Math.round(t.percent) : null), right: true },
    { header: 'MESSAGE', value: (t) => t.message },
  ], view.targets as unknown as Row[]);
  return `${head}\n${pcs}`;
}

const IMAGE_COLUMNS: Column[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'PC', value: (r) => r.machine },
  { header: 'NAME', value: (r) => r.name },
  { header: 'CREATED', value: (r) => r.createdAt },
  { header: 'SIZE', value: (r) => bytes(r.sizeBytes), right: true },
  { header: 'STORE', value: (r) => r.store },
  { header: 'VERIFIED', value: (r) => r.verifiedBy },
  { header: 'PROTECTED', value: (r) => r.protected },
];

const SCHEDULE_COLUMNS: Column[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'TYPE', value: (r) => r.type },
  { header: 'PARCS', value: (r) => r.parcs },
  { header: 'CRON', value: (r) => r.cron },
  { header: 'PAUSED', value: (r) => (typeof r.enabled === 'boolean' ? !r.enabled : undefined) },
  { header: 'NEXT RUN', value: (r) => (Array.isArray(r.nextRuns) ? r.nextRuns[0] : undefined) },
  { header: 'LAST RUN', value: (r) => get(r.lastRun, 'state') },
];

/** A machine's latest disk report (disks and partitions) and its backups on record. */
function renderReport(data: unknown): string {
  const report = get(data, 'report');
  const head = fields([['PC', get(data, 'name')], ['MAC', get(data, 'mac')], ['report', get(report, 'createdAt')]]);
  const disks = rowsOf(get(get(report, 'parsed'), 'disks'), 'disks');
  // a disk's row: its partition table as TYPE and its model as LABEL
  const parts = disks.flatMap((d) => [{ disk: d.name, name: null, sizeBytes: d.sizeBytes, fs: d.label, label: d.model },
    ...rowsOf(d.partitions, 'partitions').map((p) => ({ ...p, disk: d.name }))]);
  const layout = table([
    { header: 'DISK', value: (r) => r.disk }, { header: 'PART', value: (r) => r.name }, { header: 'SIZE', value: (r) => bytes(r.sizeBytes), right: true },
    { header: 'TYPE', value: (r) => r.fs }, { header: 'LABEL', value: (r) => r.label }, { header: 'USED', value: (r) => bytes(r.usedBytes), right: true },
  ], parts, '(no disk reported)');
  const backups = table([
    { header: 'ID', value: (r) => r.id }, { header: 'IMAGE', value: (r) => r.image }, { header: 'STATUS', value: (r) => r.status }, { header: 'STORE', value: (r) => r.store },
    { header: 'CREATED', value: (r) => r.createdAt }, { header: 'SIZE', value: (r) => bytes(r.sizeBytes), right: true },
  ], rowsOf(get(data, 'backups'), 'backups'), '(no backup)');
  return `${head}\n${layout}\n${backups}`;
}

/** `image 3 s101-pc01/master protected`: what the server says the image now is. */
const imageLine = (what: string, image: unknown) =>
  `image ${cell(get(image, 'id'))} ${cell(get(image, 'machine'))}/${cell(get(image, 'name'))} ${what}\n`;

const done = (what: string) => (data: unknown) => {
  const id = get(get(data, 'schedule') ?? data, 'id');
  return `${what}${id !== undefined ? ` ${String(id)}` : ''}\n`;
};

export const COMMANDS: readonly CommandSpec[] = [
  {
    words: ['actions', 'ls'], args: [], options: pick('state', 'status', 'type', 'parc', 'machine', 'from', 'to'), summary: 'list actions (newest 200)',
    request: (_, v) => ({
      method: 'GET',
      path: `/actions${query({ state: str(v, 'state') ?? str(v, 'status'), type: str(v, 'type'), parc: str(v, 'parc'), machine: str(v, 'machine'),
        from: str(v, 'from'), to: str(v, 'to') })}`,
    }),
    render: (d) => table(ACTION_COLUMNS, rowsOf(d, 'actions'), '(no action)'),
  },
  {
    words: ['actions', 'create'], args: [],
    options: pick('type', 'parc', 'emitter', 'machines', 'disk', 'image', 'compression', 'at', 'set', 'yes'),
    summary: 'create an action (asks before clone/restore/deploy unless --yes)',
    request: (_, v) => ({ method: 'POST', path: '/actions', body: actionBody(v) }),
    render: renderAction,
  },
  {
    words: ['actions', 'show'], args: ['id'], options: {}, summary: 'an action and its PCs',
    request: (a) => ({ method: 'GET', path: `/actions/${segment('id', a[0])}` }), render: renderAction,
  },
  {
    words: ['actions', 'watch'], args: ['id'], options: {}, kind: 'watch',
    summary: 'follow an action live until it ends (exit code: its outcome)',
    request: (a) => ({ method: 'GET', path: `/actions/${segment('id', a[0])}/events` }), render: renderAction,
  },
  { words: ['actions', 'cancel'], args: ['id'], options: {}, summary: 'cancel an action', request: byId('actions', 'cancel'), render: renderAction },
  { words: ['actions', 'start'], args: ['id'], options: {}, summary: 'start a scheduled or waiting action now', request: byId('actions', 'start'), render: renderAction },
  {
    words: ['actions', 'retry-failed'], args: ['id'], options: {}, summary: 'new action on the PCs that failed',
    request: byId('actions', 'retry-failed'), render: renderAction,
  },
  {
    words: ['images', 'ls'], args: [], options: pick('machine'), summary: 'list images',
    request: (_, v) => ({ method: 'GET', path: `/images${query({ machine: str(v, 'machine') })}` }),
    render: (d) => table(IMAGE_COLUMNS, rowsOf(d, 'images'), '(no image)'),
  },
  {
    words: ['images', 'rm'], args: ['id'], options: pick('confirm-last'), summary: 'delete an image',
    request: (a, v) => ({ method: 'DELETE', path: `/images/${segment('id', a[0])}${v['confirm-last'] ? '?confirmLast=1' : ''}` }),
    render: (d) => imageLine('deleted', get(d, 'deleted')),
  },
  {
    words: ['images', 'rename'], args: ['id', 'name'], options: {}, summary: 'rename an image',
    request: (a) => ({ method: 'POST', path: `/images/${segment('id', a[0])}/rename`, body: { name: argument('name', a[1]) } }),
    render: (d) => imageLine('renamed', get(d, 'image')),
  },
  {
    words: ['images', 'protect'], args: ['id'], options: {}, summary: 'keep an image from retention and deletion',
    request: (a) => ({ method: 'POST', path: `/images/${segment('id', a[0])}/protect`, body: { protected: true } }),
    render: (d) => imageLine('protected', get(d, 'image')),
  },
  {
    words: ['images', 'unprotect'], args: ['id'], options: {}, summary: 'remove the protection of an image',
    request: (a) => ({ method: 'POST', path: `/images/${segment('id', a[0])}/protect`, body: { protected: false } }),
    render: (d) => imageLine('unprotected', get(d, 'image')),
  },
  {
    words: ['schedules', 'ls'], args: [], options: {}, summary: 'list schedules',
    request: () => ({ method: 'GET', path: '/schedules' }), render: (d) => table(SCHEDULE_COLUMNS, rowsOf(d, 'schedules'), '(no schedule)'),
  },
  {
    words: ['schedules', 'create'], args: [], options: pick('type', 'parc', 'machines', 'disk', 'image', 'compression', 'cron', 'set'),
    summary: 'create a recurring action (backup, report)',
    request: (_, v) => ({ method: 'POST', path: '/schedules', body: { ...actionBody(v), cron: required(v, 'cron') } }),
    render: done('schedule created'),
  },
  { words: ['schedules', 'pause'], args: ['id'], options: {}, summary: 'pause a schedule', request: byId('schedules', 'pause'), render: done('schedule paused') },
  { words: ['schedules', 'resume'], args: ['id'], options: {}, summary: 'resume a schedule', request: byId('schedules', 'resume'), render: done('schedule resumed') },
  {
    words: ['schedules', 'rm'], args: ['id'], options: {}, summary: 'delete a schedule',
    request: (a) => ({ method: 'DELETE', path: `/schedules/${segment('id', a[0])}` }), render: () => 'schedule deleted\n',
  },
  {
    words: ['parcs', 'ls'], args: [], options: {}, summary: 'list the parcs you may act on',
    request: () => ({ method: 'GET', path: '/parcs' }),
    render: (d) => table([{ header: 'PARC', value: (r) => r.name }, { header: 'PCS', value: (r) => r.machineCount, right: true }], rowsOf(d, 'parcs'), '(no parc)'),
  },
  {
    words: ['machines', 'ls'], args: ['parc'], options: {}, summary: 'list the PCs of a parc',
    request: (a) => ({ method: 'GET', path: `/parcs/${segment('parc', a[0])}/machines` }),
    render: (d) => table([
      { header: 'PC', value: (r) => r.name }, { header: 'MAC', value: (r) => r.mac }, { header: 'IP', value: (r) => r.ip },
      { header: 'RESERVED', value: (r) => r.reserved }, { header: 'BUSY', value: (r) => r.busyActionId }, { header: 'LAST REPORT', value: (r) => r.lastReportAt },
    ], rowsOf(d, 'machines'), '(no PC)'),
  },
  {
    words: ['machines', 'report'], args: ['machine'], options: {}, summary: "a PC's latest disk report and its backups",
    request: (a) => ({ method: 'GET', path: `/machines/${segment('machine', a[0])}/report` }), render: renderReport,
  },
  {
    words: ['readiness'], args: [], options: {}, summary: "the server's readiness checklist",
    request: () => ({ method: 'GET', path: '/readiness' }),
    render: (d) => `overall: ${cell(get(d, 'overall'))}\n` + table([
      { header: 'LEVEL', value: (r) => r.level }, { header: 'CHECK', value: (r) => r.label }, { header: 'DETAIL', value: (r) => r.detail }, { header: 'FIX', value: (r) => r.fix },
    ], rowsOf(d, 'items'), '(no check)'),
  },
];
