/**
 * The wizard's steps 3 and 4 as data: form fields → ActionInput, the values a form shows again
 * (submitted or defaults), and the summary of a validated request. Pure, so the view only prints.
 */
import type { ActionInput } from './action-request';
import { nameList } from './action-request';
import { cloneDomainOf, type CloneDomain, type ParamDefaults } from './action-params';
import { STORE_LABELS } from './store-params';
import { ACTION_TYPES, type ActionRequest, type ActionType, RECURRING_TYPES } from './action-types';

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

export const TYPE_LABELS: Readonly<Record<ActionType, string>> = {
  clone: 'Clonage (UdpCast)',
  backup: 'Sauvegarde',
  restore: 'Restauration',
  report: 'Remontée de rapport',
  memtest: 'Test mémoire',
  deploy: "Déploiement multicast d'une image",
};

/** How the wizard names the clone's domain choice (SE3's type_os). */
export const DOMAIN_LABELS: Readonly<Record<CloneDomain, string>> = {
  'windows-domain': 'Windows intégré au domaine (sortie du domaine avant, réintégration après)',
  none: 'Linux ou Windows hors domaine (aucune préparation)',
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

/** Step 4: what will happen, in rows of label/value. */
export function summaryOf(r: ActionRequest): { label: string; value: string }[] {
  const rows: { label: string; value: string }[] = [{ label: 'Action', value: TYPE_LABELS[r.type] }];
  const sender = r.targets.find((t) => t.role === 'sender');
  if (sender) rows.push({ label: 'Émetteur', value: `${sender.name} (${sender.ip}, ${sender.mac})` });
  const others = r.targets.filter((t) => t.role !== 'sender');
  rows.push({ label: r.type === 'clone' || r.type === 'deploy' ? 'Récepteurs' : 'Machines', value: others.map((t) => t.name).join(', ') });
  const p = r.params;
  if (p.type === 'clone') {
    rows.push({ label: 'Domaine', value: DOMAIN_LABELS[cloneDomainOf(p)] });
    rows.push({ label: 'Disque', value: p.disk }, { label: 'Compression', value: p.compression });
    rows.push({ label: 'Récepteurs minimum', value: String(p.minReceivers) });
    rows.push({ label: 'Attente min / max / abandon', value: `${p.minWaitMinutes} / ${p.maxWaitMinutes} / ${p.startTimeoutMinutes} min` });
  } else if (p.type === 'deploy') {
    rows.push({ label: 'Image source', value: `${p.image} (${p.sourceMac})` }, { label: 'Disque', value: p.disk });
    rows.push({ label: 'Récepteurs minimum', value: String(p.minReceivers) });
    rows.push({ label: 'Attente min / max / abandon', value: `${p.minWaitMinutes} / ${p.maxWaitMinutes} / ${p.startTimeoutMinutes} min` });
  } else if (p.type === 'backup' || p.type === 'restore') {
    rows.push({ label: 'Disque', value: p.disk }, { label: 'Image', value: p.image || 'la plus récente' });
    if (p.type === 'backup') rows.push({ label: 'Compression', value: p.compression });
    rows.push({ label: 'Stockage', value: STORE_LABELS[p.store ?? 'server'] });
    if (p.store === 'partition') rows.push({ label: 'Partition de stockage', value: p.storagePart === 'auto' || !p.storagePart ? 'auto (étiquette CLONAGE)' : p.storagePart });
  }
  if (p.type !== 'memtest') rows.push({ label: 'Redémarrage automatique', value: p.autoReboot });
  const t = r.timing;
  rows.push({
    label: 'Démarrage',
    value: t.kind === 'now' ? 'immédiat' : t.kind === 'at' ? t.at.toLocaleString('fr-FR') : `récurrent (cron « ${t.cron} »)`,
  });
  return rows;
}
