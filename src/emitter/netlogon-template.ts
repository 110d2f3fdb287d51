/**
 * The smallest template engine that is safe for Windows scripts: `{{NAME}}` placeholders, values
 * already validated by the caller, and strict bookkeeping so a template and its renderer cannot
 * drift apart silently (an unfilled placeholder or an unused value is an error, not a blank).
 *
 * Output is CRLF (cmd.exe mis-parses labels and `goto` in LF-only files) and ASCII only
 * (Windows PowerShell 5.1 reads BOM-less scripts in the ANSI code page; cmd.exe in the OEM one).
 */
import fs from 'node:fs';
import path from 'node:path';

const PLACEHOLDER = /\{\{([A-Z][A-Z0-9_]*)\}\}/g;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Placeholders a template uses, sorted, each once. */
export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]))].sort();
}

export function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const used = placeholdersOf(template);
  const missing = used.filter((k) => !(k in values));
  if (missing.length) throw new TemplateError(`template needs values for ${missing.join(', ')}`);
  const unused = Object.keys(values).filter((k) => !used.includes(k));
  if (unused.length) throw new TemplateError(`values not used by the template: ${unused.join(', ')}`);
  for (const [k, v] of Object.entries(values)) {
    // Renderers validate values with stricter, field-specific rules; this is the last net.
    if (!/^[\x20-\x7e]*$/.test(v) || v.includes('{{')) throw new TemplateError(`value of ${k} has characters a script cannot carry`);
  }
  const out = toCrlf(template.replace(PLACEHOLDER, (_, k: string) => values[k]));
  if (!/^[\x09\x0a\x0d\x20-\x7e]*$/.test(out)) throw new TemplateError('rendered script is not plain ASCII');
  return out;
}

/** The templates shipped in the module's netlogon/ folder. */
export const NETLOGON_TEMPLATES = ['clonage-emitter.cmd', 'clonage-postclone.ps1', 'clonage-startup.cmd'] as const;
export type NetlogonTemplateName = (typeof NETLOGON_TEMPLATES)[number];

export type NetlogonTemplates = Readonly<Record<NetlogonTemplateName, string>>;

/** Reads the templates once at startup (moduleRoot from the host context), so rendering stays pure. */
export function loadNetlogonTemplates(moduleRoot: string): NetlogonTemplates {
  const dir = path.join(moduleRoot, 'netlogon');
  const read = (name: NetlogonTemplateName) => fs.readFileSync(path.join(dir, name), 'utf8');
  return {
    'clonage-emitter.cmd': read('clonage-emitter.cmd'),
    'clonage-postclone.ps1': read('clonage-postclone.ps1'),
    'clonage-startup.cmd': read('clonage-startup.cmd'),
  };
}
