/**
 * A small LDIF reader: the RFC 2849 subset that slapcat and hand-written fixtures use.
 * Supported: `version: 1`, comments, folded lines, `attr: value`, `attr:: base64`, several values
 * per attribute, attribute options (`;binary`, kept in the name). Change records (`changetype:`)
 * and URL values (`attr:< file://…`) are refused on purpose: a directory snapshot never needs
 * them, and reading files named inside an uploaded LDIF would be a hole.
 */
import { normaliseDn } from './dn';
import { InputError } from '../../common/domain/errors';

export interface LdifEntry {
  readonly dn: string;
  /** Attribute name lowercased (`ipHostNumber` → `iphostnumber`) → values in file order. */
  readonly attrs: Map<string, string[]>;
  /** 1-based line of the `dn:` line, for error messages further down. */
  readonly line: number;
}

/** Bad LDIF. `line` is 1-based, counted in the original text (before unfolding). */
export class LdifError extends InputError {
  constructor(readonly line: number, detail: string) {
    super(`LDIF line ${line}: ${detail}`, 'ldif');
  }
}

interface LogicalLine {
  readonly text: string;
  readonly line: number;
}

const ATTR_DESC = /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)(;[A-Za-z0-9-]+)*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function parseLdif(text: string): LdifEntry[] {
  const records = groupRecords(unfold(text));
  const entries: LdifEntry[] = [];
  const seen = new Map<string, number>();
  records.forEach((record, index) => {
    let lines = record;
    if (index === 0 && /^version:/i.test(lines[0].text)) {
      if (!/^version:\s*1\s*$/i.test(lines[0].text)) throw new LdifError(lines[0].line, 'only LDIF version 1 is supported');
      lines = lines.slice(1);
      if (lines.length === 0) return;
    }
    const entry = parseRecord(lines);
    const key = normaliseDn(entry.dn);
    const previous = seen.get(key);
    if (previous !== undefined) {
      throw new LdifError(entry.line, `duplicate entry "${entry.dn}" (first defined at line ${previous})`);
    }
    seen.set(key, entry.line);
    entries.push(entry);
  });
  return entries;
}

/** Joins continuation lines (starting with one space) and drops comments, keeping line numbers. */
function unfold(text: string): (LogicalLine | null)[] {
  const out: (LogicalLine | null)[] = []; // null marks a blank line, i.e. a record separator
  let inComment = false;
  const physical = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  physical.forEach((raw, i) => {
    const line = i + 1;
    if (raw.startsWith(' ')) {
      if (inComment) return; // a folded comment stays a comment
      const last = out[out.length - 1];
      if (!last) throw new LdifError(line, 'continuation line (starting with a space) with nothing to continue');
      out[out.length - 1] = { text: last.text + raw.slice(1), line: last.line };
      return;
    }
    inComment = raw.startsWith('#');
    if (inComment) return;
    out.push(raw.trim() === '' ? null : { text: raw, line });
  });
  return out;
}

function groupRecords(lines: (LogicalLine | null)[]): LogicalLine[][] {
  const records: LogicalLine[][] = [];
  let cur: LogicalLine[] = [];
  for (const l of lines) {
    if (l) cur.push(l);
    else if (cur.length) {
      records.push(cur);
      cur = [];
    }
  }
  if (cur.length) records.push(cur);
  return records;
}

function parseRecord(lines: LogicalLine[]): LdifEntry {
  const [first, ...rest] = lines;
  const head = parseLine(first);
  if (head.name !== 'dn') throw new LdifError(first.line, `expected "dn:" to start an entry, found "${clip(first.text)}"`);
  if (head.value.trim() === '') throw new LdifError(first.line, 'empty dn');
  const attrs = new Map<string, string[]>();
  for (const l of rest) {
    const { name, value } = parseLine(l);
    if (name === 'dn') throw new LdifError(l.line, 'second "dn:" in one entry (missing blank line between entries?)');
    if (name === 'changetype') throw new LdifError(l.line, 'change records (changetype) are not supported, only entries');
    const values = attrs.get(name);
    if (values) values.push(value);
    else attrs.set(name, [value]);
  }
  if (attrs.size === 0) throw new LdifError(first.line, `entry "${clip(head.value)}" has no attributes`);
  return { dn: head.value.trim(), attrs, line: first.line };
}

function parseLine(l: LogicalLine): { name: string; value: string } {
  const colon = l.text.indexOf(':');
  if (colon <= 0) throw new LdifError(l.line, `expected "attribute: value", found "${clip(l.text)}"`);
  const desc = l.text.slice(0, colon);
  if (!ATTR_DESC.test(desc)) throw new LdifError(l.line, `"${clip(desc)}" is not an attribute name`);
  const name = desc.toLowerCase();
  const rest = l.text.slice(colon + 1);
  if (rest.startsWith('<')) throw new LdifError(l.line, `URL values ("${desc}:<") are not supported`);
  if (!rest.startsWith(':')) return { name, value: rest.replace(/^ +/, '') };
  const b64 = rest.slice(1).trim();
  if (!BASE64.test(b64)) throw new LdifError(l.line, `value of "${desc}" is not valid base64`);
  // Binary values (jpegPhoto in a slapcat dump) decode lossily; harmless, since this reader is
  // read-only and uses none of them, and refusing a whole school's dump for a photo would not be.
  return { name, value: Buffer.from(b64, 'base64').toString('utf8') };
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
