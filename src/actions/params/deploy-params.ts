/**
 * Parameters of a multicast deploy (one server image to many PCs, udp-sender on the server):
 * the source image, chosen among the good images of the server store, plus the clone's disk,
 * receiver count and wait times — validated by the clone's own parsers, so both types obey the
 * same rules (min_wait ≤ max_wait ≤ start_timeout, 1 ≤ min_receivers ≤ receivers).
 */
import { InputError } from '../../common/domain/errors';
import { msg } from '../../i18n/module-messages';
import { Mac } from '../../common/domain/mac';
import { type ParamDefaults, parseCloneParams } from './clone-params';
import type { DeployParams } from '../model/action-types';
import { FieldErrorCollector } from './field-errors';

/** What deploy validation needs from the image store (src/images/backup-records.ts fits through an adapter). */
export interface DeploySources {
  /** True when the machine has a good (succeeded, not deleted) server image of that name. */
  hasGoodImage(mac: string, image: string): boolean;
  /** Good server images, newest first, for the wizard's choice. */
  list?(): readonly { readonly mac: string; readonly name: string; readonly image: string; readonly createdAt: string; readonly sizeBytes?: number | null }[];
}

const IMAGE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** The wizard's `source` value: `<mac>/<image>` (one select of the good images). */
export function parseDeploySource(raw: Readonly<Record<string, unknown>>, sources: DeploySources | undefined): { sourceMac: string; image: string } {
  const v = raw.source;
  if (typeof v !== 'string' || v.trim() === '') throw new InputError('source: choose the image to deploy', 'source', msg('error.source.required'));
  const s = v.trim();
  const slash = s.indexOf('/');
  if (slash < 0 || s.length > 100) throw new InputError('source: expected <machine MAC>/<image>', 'source', msg('error.source.format'));
  const mac = Mac.parse(s.slice(0, slash), 'source').toString();
  const image = s.slice(slash + 1);
  if (!IMAGE_PATTERN.test(image)) throw new InputError('source: bad image name', 'source', msg('error.source.badName'));
  if (!sources) throw new InputError('source: the server image store is not available', 'source', msg('error.source.noStore'));
  if (!sources.hasGoodImage(mac, image)) throw new InputError(`source: no good image ${image} of ${mac} on the server`, 'source', msg('error.source.missing', { image, mac }));
  return { sourceMac: mac, image };
}

export function parseDeployParams(
  raw: Readonly<Record<string, unknown>>,
  receivers: number,
  defaults: ParamDefaults,
  sources: DeploySources | undefined,
): DeployParams {
  const errors = new FieldErrorCollector();
  const source = errors.try('source', () => parseDeploySource(raw, sources));
  // The clone parsers: compression and domain do not apply (the image has its own) and are ignored.
  const clone = errors.try('params', () => parseCloneParams({ ...raw, compression: undefined, domain: undefined }, receivers, defaults));
  errors.throwIfAny();
  const c = clone!;
  return {
    type: 'deploy',
    sourceMac: source!.sourceMac,
    image: source!.image,
    disk: c.disk,
    minReceivers: c.minReceivers,
    minWaitMinutes: c.minWaitMinutes,
    maxWaitMinutes: c.maxWaitMinutes,
    startTimeoutMinutes: c.startTimeoutMinutes,
    autoReboot: c.autoReboot,
  };
}

/** The wizard's choices: good images, of machines of the user's parcs for a delegated admin. */
export async function deploySourceChoices(
  sources: DeploySources | undefined,
  allowed: 'all' | readonly string[],
  machines: { machines(parcs: readonly string[], allowed: 'all' | readonly string[]): Promise<readonly { readonly mac: Mac | null }[]> },
  /** The option's text in the reader's language (date and size formatted per locale); default: a neutral one. */
  labelOf: (r: { name: string; image: string; createdAt: string; sizeBytes?: number | null }) => string =
  (r) => `${r.name} — ${r.image} (${r.createdAt.slice(0, 16).replace('T', ' ')})`,
): Promise<{ value: string; label: string }[]> {
  const list = sources?.list?.() ?? [];
  const own = allowed === 'all' ? null : new Set((await machines.machines(allowed, allowed)).map((m) => m.mac?.toString()));
  return list
    .filter((r) => own === null || own.has(r.mac))
    .map((r) => ({ value: `${r.mac}/${r.image}`, label: labelOf(r) }));
}
