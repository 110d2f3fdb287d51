/**
 * The image a restore or deploy reads, chosen from the library (issue 16 item 3): a restore takes
 * each PC's own image (a name, or the newest) or one PC's server image (`<mac>/<image>`, which
 * may be another machine's when the admin holds both parcs). Before launch every target is
 * checked: the image exists on the server, and its disk and firmware fit what the PC last reported
 * (src/images/image-compat.ts). Refusals are field errors; the rest are warnings step 4 shows.
 */
import { InputError, type MessageRef } from '../../common/domain/errors';
import { msg } from '../../i18n/module-messages';
import { compatibility, type ImageFacts, type TargetFacts } from '../../images/image-compat';
import type { ActionParams, PlannedTarget } from '../model/action-types';
import { parseDeploySource, type DeploySources } from './deploy-params';
import { parseImageName, type Raw } from './clone-params';
import type { FieldErrorCollector } from './field-errors';

/** What the check reads: the library's facts of an image and the targets' last reports. */
export interface ImageChecks {
  /** The good server image of `mac` a job would read: `image`, or the newest when empty. */
  imageFacts(mac: string, image: string): ImageFacts | null;
  targetFacts(macs: readonly string[]): ReadonlyMap<string, Omit<TargetFacts, 'name'>>;
}

export interface Warning {
  readonly text: string;
  readonly ref: MessageRef;
}

/** A restore's `image` field: a name of each PC's own image (empty: the newest), or `<mac>/<image>`. */
export function parseRestoreImage(raw: Raw, store: string, sources: DeploySources | undefined): { image: string; sourceMac?: string } {
  const v = raw.image;
  if (typeof v === 'string' && v.includes('/')) {
    const { sourceMac, image } = parseDeploySource({ source: v.replace(/^\s+|\s+$/g, '') }, sources);
    if (store !== 'server') throw new InputError('image: another machine\'s image is read from the server store', 'image', msg('error.restore.otherStore'));
    return { image, sourceMac };
  }
  return { image: parseImageName(raw, '', true) };
}

/**
 * Checks a restore or deploy's image against every target: refusals go to `errors` under the
 * image's field, warnings are returned. `own`: MACs of the delegated admin's parcs (null: all).
 */
export function checkImageChoice(
  params: ActionParams,
  targets: readonly PlannedTarget[],
  checks: ImageChecks | undefined,
  errors: FieldErrorCollector,
  own: ReadonlySet<string> | null,
): Warning[] {
  if (params.type !== 'restore' && params.type !== 'deploy') return [];
  const field = params.type === 'deploy' ? 'source' : 'image';
  const sourceMac = params.sourceMac;
  if (sourceMac && own && !own.has(sourceMac)) {
    errors.add(field, `${field}: this image is of a machine outside your parcs`, msg(params.type === 'deploy' ? 'error.source.foreign' : 'error.restore.foreign'));
    return [];
  }
  // A restore from a PC's own partition or share is checked by its agent: the server does not see those images.
  if (!checks || (params.type === 'restore' && (params.store ?? 'server') !== 'server')) return [];
  const facts = checks.targetFacts(targets.map((t) => t.mac.toString()));
  const refusals: Warning[] = [];
  const warnings: Warning[] = [];
  for (const t of targets) {
    const image = checks.imageFacts(sourceMac ?? t.mac.toString(), params.image);
    if (!image) {
      refusals.push(params.image
        ? { text: `${t.name} has no good image ${params.image} on the server`, ref: msg('error.restore.missing', { name: t.name, image: params.image }) }
        : { text: `${t.name} has no good image on the server`, ref: msg('error.restore.none', { name: t.name }) });
      continue;
    }
    const f = facts.get(t.mac.toString());
    const target: TargetFacts = { name: t.name, lastReportAt: f?.lastReportAt ?? null, disks: f?.disks ?? {}, autoDisk: f?.autoDisk ?? null, firmware: f?.firmware ?? null };
    for (const c of compatibility(image, target, params.disk)) (c.level === 'refuse' ? refusals : warnings).push(c);
  }
  // every PC's refusal is shown: the first under the field, the others next to it (image.2, image.3…)
  refusals.forEach((r, i) => errors.add(i === 0 ? field : `${field}.${i + 1}`, `${field}: ${r.text}`, r.ref));
  return warnings;
}
