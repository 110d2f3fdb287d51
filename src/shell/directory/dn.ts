/**
 * Distinguished-name helpers shared by the LDIF and LDAP directories.
 *
 * SE3 writes DNs by hand in PHP and Perl scripts, so the same entry shows up as
 * `cn=PC01,ou=Computers,...` in one member list and `cn=pc01, ou=computers, ...` in another.
 * Every comparison goes through normaliseDn(): attribute types and values lowercased (the
 * attributes SE3 uses in DNs — dc, ou, cn, uid — all match case-insensitively) and insignificant
 * spaces removed, as slapd's caseIgnoreMatch does.
 */

export interface Rdn {
  /** Attribute type, lowercase (`cn`, `uid`, `ou`…). */
  readonly type: string;
  /** Value with DN escapes removed, case kept. */
  readonly value: string;
}

/** Splits on commas that are not escaped with a backslash (RFC 4514). */
export function splitRdns(dn: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\' && i + 1 < dn.length) {
      cur += c + dn[i + 1];
      i++;
    } else if (c === ',') {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p, i, all) => p !== '' || all.length > 1);
}

function normaliseRdn(rdn: string): string {
  const eq = rdn.indexOf('=');
  if (eq < 0) return collapse(rdn).toLowerCase();
  return `${rdn.slice(0, eq).trim().toLowerCase()}=${collapse(rdn.slice(eq + 1)).toLowerCase()}`;
}

function collapse(s: string): string {
  return s.trim().replace(/\s+/g, ' ');
}

/** Canonical form for comparing and indexing DNs; never shown to users. */
export function normaliseDn(dn: string): string {
  const rdns = splitRdns(dn.trim());
  return rdns.length === 1 && rdns[0] === '' ? '' : rdns.map(normaliseRdn).join(',');
}

/** The first RDN of a DN, or null when it has no `type=value` shape. */
export function firstRdn(dn: string): Rdn | null {
  const first = splitRdns(dn.trim())[0] ?? '';
  const eq = first.indexOf('=');
  if (eq <= 0) return null;
  return { type: first.slice(0, eq).trim().toLowerCase(), value: unescapeValue(collapse(first.slice(eq + 1))) };
}

/** The normalised DN of the parent entry ('' for a single-RDN DN). */
export function parentDn(dn: string): string {
  return normaliseDn(splitRdns(dn.trim()).slice(1).join(','));
}

/** Joins a relative branch such as `ou=People` onto a base DN. */
export function joinDn(rdns: string, base: string): string {
  const r = rdns.trim();
  const b = base.trim();
  if (r === '') return b;
  return b === '' ? r : `${r},${b}`;
}

/** Removes RFC 4514 escapes: `\,` `\+` `\"` `\\` … and `\hh` hex pairs (UTF-8). */
function unescapeValue(v: string): string {
  if (!v.includes('\\')) return v;
  const chars = Array.from(v); // code points, so a surrogate pair is never split
  const bytes: number[] = [];
  for (let i = 0; i < chars.length; i++) {
    const hex = `${chars[i + 1] ?? ''}${chars[i + 2] ?? ''}`;
    if (chars[i] === '\\' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (chars[i] === '\\' && i + 1 < chars.length) {
      bytes.push(...Buffer.from(chars[++i], 'utf8'));
    } else bytes.push(...Buffer.from(chars[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
