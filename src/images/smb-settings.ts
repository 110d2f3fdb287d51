/**
 * The SMB share of store=smb (SE3's type_dest_part=smb: dest_srv, dest_partage,
 * dest_sous_dossier, dest_compte, dest_mdp), kept in module settings `smb.*` and edited on the
 * Configuration page (settings declared in src/settings/storage.ts). Images go to `//server/share/<subdir>/<mac aa-bb-cc-dd-ee-ff>/<image>/`.
 *
 * The password is the one secret here: it is stored as given (the PC must present it to the
 * share, a hash would be useless), never rendered back by any page (the field is write-only:
 * blank keeps it), never put on a kernel command line, in a boot file or in a job; the agent of
 * a running smb job fetches it with its job token (GET …/image/smb-credentials, no-store).
 * Every value reaches busybox `mount -t cifs` as one argument: each is a closed character set,
 * without "," (the mount option separator) or a line break (the credentials answer is lines).
 */
export interface SmbConfig {
  readonly server: string;
  readonly share: string;
  readonly subdir: string;
  readonly user: string;
  readonly domain: string;
  readonly password: string;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** The closed character sets of the share's values (the settings are declared in src/settings/storage.ts). */
export const SMB_PATTERNS = {
  share: /^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,79}$/,
  /** One folder of the sub-directory ("/"-separated). */
  segment: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/,
  user: /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/,
  domain: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/,
  /** Printable ASCII except "," (busybox mount splits options on it); at most 128. */
  password: /^[\x20-\x2b\x2d-\x7e]{1,128}$/,
} as const;

export function isSmbServer(v: string): boolean {
  if (IPV4.test(v)) return true;
  if (v.length > 253 || /^\d+(\.\d+)*$/.test(v)) return false; // digits only: a bad IPv4, not a name
  return v.split('.').every((l) => LABEL.test(l));
}

/** The agent's credentials answer: key=value lines (agent-smb.sh reads them with `read -r`). */
export function renderSmbCredentials(c: SmbConfig, macDashed: string): string {
  return [`server=${c.server}`, `share=${c.share}`, `subdir=${c.subdir}`, `dir=${macDashed}`, `username=${c.user}`, `domain=${c.domain}`,
    `password=${c.password}`, ''].join('\n');
}
