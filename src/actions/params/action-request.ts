/**
 * Turns raw input (the wizard's form, or a test) into a validated ActionRequest: type, targets
 * resolved against the inventory inside the parcs the user may act on, parameters, timing.
 * Every mistake is reported under its form field (FieldErrors); a parc that is not delegated to
 * the user is a ForbiddenError (403), not a form error.
 */
import { ForbiddenError, InputError } from '../../common/domain/errors';
import { parseParcName } from '../../common/domain/hostname';
import type { Machine } from '../../inventory/machine-inventory';
import { parseActionParams } from './action-params';
import { ACTION_FORM_LIMITS, MAX_TARGETS } from './limits';
import type { ParamDefaults } from './clone-params';
import {
  ACTION_TYPES,
  type ActionRequest,
  type ActionTiming,
  type ActionType,
  type PlannedTarget,
  RECURRING_TYPES,
  type TargetMachine,
} from '../model/action-types';
import { parseCronExpression } from './cron-expression';
import type { DeploySources } from './deploy-params';
import { FieldErrorCollector } from './field-errors';
import { checkImageChoice, type ImageChecks } from './image-choice';
import { msg } from '../../i18n/module-messages';

export interface ActionInput {
  readonly type?: unknown;
  /** Parcs the machines were picked from (wizard step 1). */
  readonly parcs?: unknown;
  /** Clone only: the sender's name. */
  readonly emitter?: unknown;
  /** Clone only: receivers' names. */
  readonly receivers?: unknown;
  /** Other types: the targets' names. */
  readonly machines?: unknown;
  /** Per-type parameters, by form field name (disk, compression, min_wait…). */
  readonly params?: Readonly<Record<string, unknown>>;
  /** 'now' (default) | 'at' | 'cron'. */
  readonly start?: unknown;
  readonly start_at?: unknown;
  readonly cron?: unknown;
}

/** What the request parser needs from the inventory: MachineInventory fits. */
export interface MachineSource {
  machines(parcNames: readonly string[], allowed: 'all' | readonly string[]): Promise<Machine[]>;
}

export { MAX_TARGETS, ACTION_FORM_LIMITS };
const MAX_AHEAD_DAYS = 366;
/** A start time slightly in the past is a form filled in slowly, not a mistake. */
const PAST_TOLERANCE_MS = 5 * 60_000;

/** A field that may repeat (?machine=a&machine=b): a bounded, de-duplicated list of trimmed names. */
export function nameList(v: unknown, field: string): string[] {
  const arr = Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v];
  if (arr.length > MAX_TARGETS) throw new InputError(`${field}: at most ${MAX_TARGETS} machines`, field, msg('error.tooMany', { max: MAX_TARGETS }));
  if (!arr.every((x) => typeof x === 'string')) throw new InputError(`${field}: names expected`, field, msg('error.names'));
  return [...new Set((arr as string[]).map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))];
}

export function parseActionType(v: unknown): ActionType {
  if (typeof v !== 'string' || !(ACTION_TYPES as readonly string[]).includes(v)) {
    throw new InputError(`type: expected one of ${ACTION_TYPES.join(', ')}`, 'type', msg('error.choice', { choices: ACTION_TYPES.join(', ') }));
  }
  return v as ActionType;
}

/** `start_at` from a datetime-local field (server local time) or an ISO date with zone. */
export function parseStartAt(v: unknown, now: Date): Date {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/.test(v.trim())) {
    throw new InputError('start_at: a date and time is required (YYYY-MM-DDTHH:MM)', 'start_at', msg('error.startAt.format'));
  }
  const at = new Date(v.trim());
  if (Number.isNaN(at.getTime())) throw new InputError('start_at: not a valid date', 'start_at', msg('error.startAt.invalid'));
  if (at.getTime() < now.getTime() - PAST_TOLERANCE_MS) throw new InputError('start_at: this time is already past', 'start_at', msg('error.startAt.past'));
  if (at.getTime() > now.getTime() + MAX_AHEAD_DAYS * 86_400_000) {
    throw new InputError(`start_at: at most ${MAX_AHEAD_DAYS} days ahead`, 'start_at', msg('error.startAt.tooFar', { days: MAX_AHEAD_DAYS }));
  }
  return at;
}

export function parseTiming(input: ActionInput, type: ActionType, now: Date): ActionTiming {
  const start = input.start === undefined || input.start === '' ? 'now' : input.start;
  if (start === 'now') return { kind: 'now' };
  if (start === 'at') return { kind: 'at', at: parseStartAt(input.start_at, now) };
  if (start === 'cron') {
    if (!RECURRING_TYPES.includes(type)) {
      throw new InputError(`cron: only ${RECURRING_TYPES.join(' and ')} actions can recur`, 'cron', msg('error.cron.onlyRecurring'));
    }
    return { kind: 'cron', cron: parseCronExpression(input.cron, now) };
  }
  throw new InputError('start: expected now, at or cron', 'start', msg('error.start'));
}

function toTarget(m: Machine | undefined, name: string, field: string): TargetMachine {
  if (!m) throw new InputError(`${field}: ${name} is not in the chosen parcs`, field, msg('error.notInParcs', { name }));
  if (!m.selectable || !m.mac || !m.ip) {
    const ref =
      m.reasonKey === 'inventory.noMac' ? msg('error.notSelectable.noMac', { name })
      : m.reasonKey === 'inventory.noReservation' || !m.reason ? msg('error.notSelectable.noReservation', { name })
      : msg('error.notSelectable', { name, reason: m.reason });
    throw new InputError(`${field}: ${name} cannot be selected (${m.reason ?? 'no DHCP reservation'})`, field, ref);
  }
  return { name: m.name, mac: m.mac, ip: m.ip };
}

/**
 * Validates everything. `allowed` is host.web.parcsOf(user, 'parc_can_clone').
 * @throws ForbiddenError for a parc outside `allowed`; FieldErrors for every other mistake.
 */
export async function parseActionRequest(
  input: ActionInput,
  ctx: {
    readonly allowed: 'all' | readonly string[];
    readonly machines: MachineSource;
    readonly now: Date;
    readonly defaults?: ParamDefaults;
    /** Good server images, for a deploy's source and a restore's image. */
    readonly sources?: DeploySources;
    /** The library's and the targets' facts, for the compatibility check of a restore or deploy. */
    readonly checks?: ImageChecks;
  },
): Promise<ActionRequest> {
  const errors = new FieldErrorCollector();
  const type = errors.try('type', () => parseActionType(input.type));
  const parcs = errors.try('parcs', () => {
    const list = nameList(input.parcs, 'parcs').map((p) => parseParcName(p, 'parcs'));
    if (list.length === 0) throw new InputError('parcs: choose at least one parc', 'parcs', msg('error.parcs.none'));
    return list;
  });
  if (parcs && ctx.allowed !== 'all') {
    const refused = parcs.filter((p) => !ctx.allowed.includes(p));
    if (refused.length) throw new ForbiddenError(`parc ${refused.join(', ')} is not delegated to you`, msg('denied.parcs', { parcs: refused.join(', ') }));
  }
  const inventory = parcs ? await ctx.machines.machines(parcs, ctx.allowed) : [];
  const byName = new Map(inventory.map((m) => [m.name.toLowerCase(), m]));

  const targets: PlannedTarget[] = [];
  let receiverCount = 0;
  if (type === 'clone') {
    const emitter = errors.try('emitter', () => {
      const names = nameList(input.emitter, 'emitter');
      if (names.length !== 1) throw new InputError('emitter: choose exactly one sender', 'emitter', msg('error.emitter.one'));
      return toTarget(byName.get(names[0]), names[0], 'emitter');
    });
    const receivers = errors.try('receivers', () => {
      const names = nameList(input.receivers, 'receivers');
      if (names.length === 0) throw new InputError('receivers: choose at least one receiver', 'receivers', msg('error.receivers.none'));
      if (emitter && names.includes(emitter.name.toLowerCase())) {
        throw new InputError(`receivers: the sender ${emitter.name} cannot also receive`, 'receivers', msg('error.receivers.emitter', { name: emitter.name }));
      }
      return names.map((n) => toTarget(byName.get(n), n, 'receivers'));
    });
    if (emitter) targets.push({ ...emitter, role: 'sender' });
    for (const r of receivers ?? []) targets.push({ ...r, role: 'receiver' });
    receiverCount = receivers?.length ?? 0;
  } else if (type) {
    const machines = errors.try('machines', () => {
      const names = nameList(input.machines, 'machines');
      if (names.length === 0) throw new InputError('machines: choose at least one machine', 'machines', msg('error.machines.none'));
      return names.map((n) => toTarget(byName.get(n), n, 'machines'));
    });
    for (const m of machines ?? []) targets.push({ ...m, role: type });
    // A deploy's machines are its receivers: min_receivers is bounded by their number.
    if (type === 'deploy') receiverCount = machines?.length ?? 0;
  }
  const macs = new Set<string>();
  for (const t of targets) {
    if (macs.has(t.mac.toString())) errors.add(type === 'clone' ? 'receivers' : 'machines', `${t.name}: the same MAC appears twice`, msg('error.sameMac', { name: t.name }));
    macs.add(t.mac.toString());
  }

  const params = type
    ? errors.try('params', () => parseActionParams(type, input.params ?? {}, { receivers: Math.max(receiverCount, 1), now: ctx.now, defaults: ctx.defaults, sources: ctx.sources }))
    : undefined;
  // A delegated admin deploys or restores only images of machines of their own parcs (an image
  // holds the source PC's files: another parc's image is not theirs to copy).
  const own = params && 'sourceMac' in params && params.sourceMac && ctx.allowed !== 'all'
    ? new Set((await ctx.machines.machines(ctx.allowed, ctx.allowed)).map((m) => m.mac?.toString()).filter((m): m is string => !!m))
    : null;
  const warnings = params && !errors.has('machines') ? checkImageChoice(params, targets, ctx.checks, errors, own) : [];
  const timing = type ? errors.try('start', () => parseTiming(input, type, ctx.now)) : undefined;
  errors.throwIfAny();
  return { type: type!, params: params!, targets, parcs: parcs!, timing: timing!, ...(warnings.length ? { warnings } : {}) };
}
