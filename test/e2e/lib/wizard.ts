/**
 * The admin's wizard as the e2e suites drive it (no browser): the forms' fields read from the
 * pages and posted back, steps 1 → 4, as backup.test.ts and faults.test.ts schedule their actions.
 */
import { expect } from '@jest/globals';
import type { PageClient } from '../../helpers/browserless-client';

const BASE = '/modules/clonage';

/** HTML attribute values as the views escape them. */
const unescapeHtml = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|#39|#34);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#34': '"' })[e]!);
const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeHtml(m[1]) : undefined;
};

/**
 * What a browser would submit for the form `id` of a page: named inputs (radio/checkbox only when
 * checked), selects (the selected option, else the first). Enough for the wizard's plain forms.
 */
function formFields(html: string, id: string): Record<string, string | string[]> {
  const m = new RegExp(`<form[^>]*\\sid="${id}"[^>]*>([\\s\\S]*?)</form>`).exec(html);
  if (!m) throw new Error(`no form #${id} on the page:\n${html.slice(0, 2000)}`);
  const out: Record<string, string | string[]> = {};
  const add = (k: string, v: string) => {
    const cur = out[k];
    out[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  };
  for (const [tag] of m[1].matchAll(/<input\b[^>]*>/g)) {
    const name = attr(tag, 'name');
    if (!name || /\sdisabled\b/.test(tag)) continue;
    const type = (attr(tag, 'type') ?? 'text').toLowerCase();
    if ((type === 'radio' || type === 'checkbox') && !/\schecked\b/.test(tag)) continue;
    add(name, attr(tag, 'value') ?? (type === 'checkbox' ? 'on' : ''));
  }
  for (const [, open, body] of m[1].matchAll(/(<select\b[^>]*>)([\s\S]*?)<\/select>/g)) {
    const name = attr(open, 'name');
    if (!name) continue;
    const options = [...body.matchAll(/<option\b([^>]*)>([^<]*)/g)].map(([, a, text]) => ({
      value: attr(` ${a}`, 'value') ?? unescapeHtml(text.trim()),
      selected: /\sselected\b/.test(` ${a}`),
    }));
    const chosen = options.find((o) => o.selected) ?? options[0];
    if (chosen) add(name, chosen.value);
  }
  return out;
}

/**
 * Schedules an action of one machine as an admin does in the wizard: step 1 (parcs), step 2
 * (machines, action type), step 3 (parameters form, filled with `fields`), "Vérifier" → step 4
 * (summary), "Lancer l'action" (the summary's form as it is). Returns the action page's path.
 */
export async function scheduleThroughWizard(admin: PageClient, type: 'backup' | 'restore', parc: string, machine: string, fields: Record<string, string>): Promise<string> {
  const step1 = await admin.get(`${BASE}/actions/new`);
  expect([step1.status, step1.text]).toEqual([200, expect.stringContaining(`value="${parc}"`)]);
  const step2 = await admin.get(`${BASE}/actions/new?parc=${parc}`);
  expect([step2.status, step2.text]).toEqual([200, expect.stringContaining(`data-machine="${machine}"`)]);
  const q = new URLSearchParams({ parc, type, machine });
  const step3 = await admin.get(`${BASE}/actions/new/params?${q}`);
  expect(step3.status).toBe(200);
  const form3 = formFields(step3.text, 'wizard-3');
  for (const f of Object.keys(fields)) {
    // the admin fills fields the form shows; a field the form lacks would be silently dropped
    if (!(f in form3)) throw new Error(`wizard step 3 of a ${type} has no field "${f}" (has ${Object.keys(form3).join(', ')})`);
  }
  const step4 = await admin.post(`${BASE}/actions`, { ...form3, ...fields });
  if (step4.status !== 200 || !step4.text.includes('id="wizard-4"')) {
    throw new Error(`wizard step 3 → 4 answered ${step4.status}:\n${step4.text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 1500)}`);
  }
  const form4 = formFields(step4.text, 'wizard-4');
  expect(form4).toMatchObject({ type, machine, confirm: '1', ...fields });
  const created = await admin.post(`${BASE}/actions`, form4);
  if (created.status !== 303 || !created.location) throw new Error(`"Lancer l'action" answered ${created.status}: ${created.text.slice(0, 500)}`);
  return created.location;
}
