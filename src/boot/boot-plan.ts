/**
 * Boot plans: what the server tells one PC (one MAC) to do at its next PXE boot.
 *
 * - `local`: boot the local disk at once.
 * - `menu`:  show the default menu (which itself falls back to the local disk).
 * - `job`:   boot an installed toolkit (kernel + initrd) whose agent runs job `jobId`.
 * - `incomplete`: job `jobId` failed after it started writing the disk (restore, deploy, clone
 *   receiver): the disk is partly written, so the PC must not boot it. Its boot file says so on
 *   the screen and boots from the network again a minute later, so a job armed meanwhile
 *   ("relancer les postes en échec") runs without anyone touching the PC.
 *
 * Every value that ends up in a boot file or on a kernel command line is checked here, once,
 * against a closed character set: no spaces, quotes, newlines, '$', ';' or braces can get through,
 * so neither a pxelinux config line nor an iPXE script line nor a kernel argument can be injected
 * (SE3 interpolated form fields into kernel arguments, se3-reference.md §7).
 * Plans can only be built by the functions below; the brand makes a hand-made object a type error.
 */
import { InputError } from '../common/domain/errors';
import { JOB_ID_PATTERN, TOKEN_PATTERN } from '../agent/job-identity';
/** Toolkit names are folder names and URL segments: lowercase, no dots (no '..'). */
export const TOOLKIT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** The pxelinux LABEL / iPXE label of a job entry: one word. */
export const PLAN_LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

declare const checked: unique symbol;
/** Type-only brand: proves the object came from a constructor below. No runtime cost. */
interface Checked {
  readonly [checked]: true;
}

export type LocalBootPlan = { readonly kind: 'local' } & Checked;
export type MenuBootPlan = { readonly kind: 'menu' } & Checked;
export type JobBootPlan = {
  readonly kind: 'job';
  readonly jobId: string;
  /** One-time secret of the job; erased from the store once the agent fetched the job. */
  readonly token: string;
  readonly toolkit: string;
  readonly label: string;
} & Checked;

export type IncompleteBootPlan = { readonly kind: 'incomplete'; readonly jobId: string } & Checked;

export type BootPlan = LocalBootPlan | MenuBootPlan | JobBootPlan | IncompleteBootPlan;
export type BootPlanKind = BootPlan['kind'];

export interface JobPlanInput {
  readonly jobId: unknown;
  readonly token: unknown;
  readonly toolkit: unknown;
  readonly label: unknown;
}

export function localPlan(): LocalBootPlan {
  return Object.freeze({ kind: 'local' }) as LocalBootPlan;
}

export function menuPlan(): MenuBootPlan {
  return Object.freeze({ kind: 'menu' }) as MenuBootPlan;
}

export function incompletePlan(jobId: unknown): IncompleteBootPlan {
  return Object.freeze({ kind: 'incomplete', jobId: checkJobId(jobId) }) as IncompleteBootPlan;
}

export function jobPlan(input: JobPlanInput): JobBootPlan {
  return Object.freeze({
    kind: 'job',
    jobId: checkJobId(input.jobId),
    token: checkToken(input.token),
    toolkit: checkToolkitName(input.toolkit),
    label: checkWord(input.label, PLAN_LABEL_PATTERN, 'label', 'a plan label (letters, digits, _ and -, at most 64)'),
  }) as JobBootPlan;
}

export function checkJobId(v: unknown): string {
  return checkWord(v, JOB_ID_PATTERN, 'jobId', 'a job id ([A-Za-z0-9_-], 1 to 64)');
}

export function checkToken(v: unknown): string {
  // The value is never echoed back: it is a secret.
  if (typeof v !== 'string' || !TOKEN_PATTERN.test(v)) {
    throw new InputError('token: expected 43 base64url characters', 'token');
  }
  return v;
}

export function checkToolkitName(v: unknown): string {
  return checkWord(v, TOOLKIT_NAME_PATTERN, 'toolkit', 'a toolkit name ([a-z0-9_-], 1 to 64, not starting with - or _)');
}

const MAX_SERVER_URL = 200;

/**
 * The module's base URL as PCs reach it (clonage.server=, and the prefix of iPXE file URLs).
 * Only http(s), no user:password, query or fragment, and a closed character set: '$' and '{'
 * would be expanded by iPXE, spaces and quotes would split kernel arguments.
 * Returned without a trailing slash.
 */
export function checkServerUrl(v: unknown): string {
  const fail = (why: string): never => {
    throw new InputError(`serverUrl: ${why}`, 'serverUrl');
  };
  if (typeof v !== 'string' || v.length === 0) return fail('a URL is required');
  if (v.length > MAX_SERVER_URL) return fail(`longer than ${MAX_SERVER_URL} characters`);
  if (!/^[A-Za-z0-9._~:/-]+$/.test(v)) return fail('only letters, digits and . _ ~ : / - are allowed');
  const m = /^(https?):\/\/([A-Za-z0-9.-]+)(:[0-9]{1,5})?(\/[A-Za-z0-9._~/-]*)?$/.exec(v);
  if (!m) return fail('expected http(s)://host[:port][/path]');
  if (m[3] && Number(m[3].slice(1)) > 65535) return fail('port out of range');
  const path = m[4] ?? '';
  if (path.split('/').some((seg) => seg === '.' || seg === '..')) return fail("'.' or '..' in the path");
  return v.replace(/\/+$/, '');
}

function checkWord(v: unknown, pattern: RegExp, field: string, what: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) {
    const shown = typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v;
    throw new InputError(`${field}: ${shown} is not ${what}`, field);
  }
  return v;
}
