/**
 * The wizard's steps 3 and 4 as data: form fields → ActionInput, the values a form shows again
 * (submitted or defaults), and the summary of a validated request. Pure, so the view only prints.
 */
import type { ActionInput } from '../../actions/params/action-request';
import { nameList } from '../../actions/params/action-request';
import { cloneDomainOf, type ParamDefaults } from '../../actions/params/clone-params';
import type { ModuleTranslate } from '../../i18n/module-messages';
import { cronInWords } from '../../actions/params/cron-words';
import { ACTION_TYPES, type ActionRequest, type ActionType, RECURRING_TYPES } from '../../actions/model/action-types';

export const PARAM_FIELDS = ['domain', 'disk', 'compression', 'min_receivers', 'min_wait', 'max_wait', 'start_timeout', 'auto_reboot', 'image', 'source',
  'store', 'storage_part'] as const;
export const TIMING_FIELDS = ['start', 'start_at', 'cron'] as const;

/** Which parameter fields each type's form shows. */
export const FIELDS_OF: Readonly<Record<ActionType, readonly (typeof PARAM_FIELDS)[number][]>> = {
  clone: ['domain', 'disk', 'compression', 'min_receivers', 'min_wait', 'max_wait', 'start_timeout', 'auto_reboot'],
  backup: ['disk', 'compression', 'image', 'store', 'storage_part', 'auto_reboot'],
  restore: ['disk', 'image', 'store', 'storage_part', 'auto_reboot'],
  report: ['auto_reboot'],
  memtest: [],
  deploy: ['source', 'disk', 'min_receivers', 'min_wait', 'max_wait', 'start_timeout', 'auto_reboot'],
};

type Body = Readonly<Record<string, unknown>>;

function one(body: Body, key: string): string | undefined {
  const v = body[key];
  return typeof v === 'string' ? v : undefined;
}

/** The wizard form (and the step-2 query) → service input. The `machine` checkboxes are the receivers of a clone. */
export function inputFromForm(body: Body): ActionInput {
  const type = one(body, 'type');
  const params: Record<string, unknown> = {};
  for (const f of PARAM_FIELDS) if (body[f] !== undefined) params[f] = body[f];
  return {
    type,
    parcs: body.parc,
    emitter: type === 'clone' ? body.emitter : undefined,
    receivers: type === 'clone' ? body.machine : undefined,
    machines: type === 'clone' ? undefined : body.machine,
    params,
    start: body.start,
    start_at: body.start_at,
    cron: body.cron,
  };
}

export interface WizardSelection {
  readonly type: ActionType | null;
  readonly parcs: string[];
  readonly emitter: string | null;
  readonly machines: string[];
}

/** The selection carried from step 2 to 4 as hidden fields; bad values are dropped (validation reports them). */
export function selectionOf(body: Body): WizardSelection {
  const safe = (f: () => string[]) => {
    try {
      return f();
    } catch {
      return [];
    }
  };
  const type = one(body, 'type');
  const emitter = safe(() => nameList(body.emitter, 'emitter'))[0] ?? null;
  return {
    type: type && (ACTION_TYPES as readonly string[]).includes(type) ? (type as ActionType) : null,
    parcs: safe(() => nameList(body.parc, 'parc')),
    emitter: type === 'clone' ? emitter : null,
    machines: safe(() => nameList(body.machine, 'machine')),
  };
}

/** Field values to show: what was submitted, else the default from the settings. */
export function formValues(body: Body, defaults: ParamDefaults, receivers: number): Record<string, string> {
  const d: Record<string, string> = {
    domain: defaults.domain,
    disk: defaults.disk,
    compression: defaults.compression,
    min_receivers: String(Math.max(receivers, 1)),
    min_wait: String(defaults.minWaitMinutes),
    max_wait: String(defaults.maxWaitMinutes),
    start_timeout: String(defaults.startTimeoutMinutes),
    auto_reboot: defaults.autoReboot,
    image: '',
    source: '',
    store: defaults.store ?? 'server',
    storage_part: 'auto',
    start: 'now',
    start_at: '',
    cron: '',
  };
  for (const f of [...PARAM_FIELDS, ...TIMING_FIELDS]) {
    const v = one(body, f);
    if (v !== undefined) d[f] = v.slice(0, 200);
  }
  return d;
}

export function canRecur(type: ActionType | null): boolean {
  return type !== null && RECURRING_TYPES.includes(type);
}

/**
 * Step 4: what will happen, in rows of label/value, in the user's language (`t`); `when` formats
 * a start date as the pages do.
 */
export function summaryOf(r: ActionRequest, t: ModuleTranslate, when: (d: Date) => string, machineOf: (mac: string) => string = (m) => m): { label: string; value: string }[] {
  const rows: { label: string; value: string }[] = [{ label: t('label.action'), value: t(`type.${r.type}`) }];
  const sender = r.targets.find((x) => x.role === 'sender');
  if (sender) rows.push({ label: t('summary.emitter'), value: `${sender.name} (${sender.ip}, ${sender.mac})` });
  const others = r.targets.filter((x) => x.role !== 'sender');
  rows.push({ label: t(r.type === 'clone' || r.type === 'deploy' ? 'summary.receivers' : 'summary.machines'), value: others.map((x) => x.name).join(', ') });
  const p = r.params;
  if (p.type === 'clone') {
    rows.push({ label: t('summary.domain'), value: t(`domain.${cloneDomainOf(p)}`) });
    rows.push({ label: t('label.disk'), value: p.disk || t('summary.autoDisk') }, { label: t('label.compression'), value: t(`compression.${p.compression}`) });
    rows.push({ label: t('summary.minReceivers'), value: String(p.minReceivers) });
    rows.push({
      label: t('summary.waits'),
      value: t('summary.waitsValue', { min: p.minWaitMinutes, max: p.maxWaitMinutes, timeout: p.startTimeoutMinutes }),
    });
  } else if (p.type === 'deploy') {
    rows.push({ label: t('summary.sourceImage'), value: t('summary.imageOf', { image: p.image, machine: machineOf(p.sourceMac) }) }, { label: t('label.disk'), value: p.disk || t('summary.autoDisk') });
    rows.push({ label: t('summary.minReceivers'), value: String(p.minReceivers) });
    rows.push({
      label: t('summary.waits'),
      value: t('summary.waitsValue', { min: p.minWaitMinutes, max: p.maxWaitMinutes, timeout: p.startTimeoutMinutes }),
    });
  } else if (p.type === 'backup' || p.type === 'restore') {
    const image = p.type === 'restore' && p.sourceMac ? t('summary.imageOf', { image: p.image, machine: machineOf(p.sourceMac) }) : p.image || t('summary.newestImage');
    rows.push({ label: t('label.disk'), value: p.disk || t('summary.autoDisk') }, { label: t('label.image'), value: image });
    if (p.type === 'backup') rows.push({ label: t('label.compression'), value: t(`compression.${p.compression}`) });
    rows.push({ label: t('summary.store'), value: t(`store.${p.store ?? 'server'}`) });
    if (p.store === 'partition') {
      rows.push({ label: t('summary.storagePart'), value: p.storagePart === 'auto' || !p.storagePart ? t('summary.storagePartAuto') : p.storagePart });
    }
  }
  if (p.type !== 'memtest') rows.push({ label: t('label.autoReboot'), value: t(`reboot.${p.autoReboot}`) });
  const timing = r.timing;
  rows.push({
    label: t('wizard.start'),
    value:
      timing.kind === 'now' ? t('wizard.start.now')
      : timing.kind === 'at' ? when(timing.at)
      : t('summary.startRecurring', { cron: cronInWords(timing.cron, t) }),
  });
  return rows;
}

/** An image of the library as the restore choice needs it (ImageLibrary.list rows fit). */
export interface ChoosableImage {
  readonly mac: string;
  readonly machine: string;
  readonly image: string;
  readonly createdAt: string;
  readonly sizeBytes: number | null;
  readonly location: string;
}

export interface RestoreChoices {
  /** Names the selected PCs have images of (each restores its own): value = the name. */
  readonly own: { value: string; label: string }[];
  /** One PC's server image for every selected PC: value = `<mac>/<image>`. */
  readonly other: { value: string; label: string }[];
}

/**
 * Wizard step 3 of a restore: the library's images the user may see (`images`), as the two
 * groups of the image select. `selected`: MACs of the chosen PCs.
 */
export function restoreChoices(images: readonly ChoosableImage[], selected: readonly string[], t: ModuleTranslate,
  fmt: { when(iso: string): string; size(b: number | null): string }): RestoreChoices {
  const mine = new Set(selected);
  const perName = new Map<string, Set<string>>();
  for (const i of images) if (mine.has(i.mac)) perName.set(i.image, (perName.get(i.image) ?? new Set()).add(i.mac));
  const own = [...perName.entries()].sort((a, b) => a[0].localeCompare(b[0]))
    .map(([image, macs]) => ({ value: image, label: t('wizard.restore.ownOption', { image, count: macs.size, total: mine.size }) }));
  const other = images.filter((i) => i.location === 'server')
    .map((i) => ({ value: `${i.mac}/${i.image}`, label: t('wizard.restore.otherOption', { machine: i.machine, image: i.image, when: fmt.when(i.createdAt), size: fmt.size(i.sizeBytes) }) }));
  return { own, other };
}
