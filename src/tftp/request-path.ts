/**
 * The file-name jail of the TFTP server, pure.
 *
 * Decisions (docs/tftp.md):
 * - Names are printable ASCII only. Boot files and pxelinux.cfg names are ASCII; refusing the rest
 *   removes every question about encodings, control characters and NUL bytes.
 * - One leading '/' is stripped by default: UEFI firmware and GRUB often ask for "/bootx64.efi"
 *   meaning "at the root of the TFTP tree", as tftpd-hpa --secure and dnsmasq interpret it. A
 *   second leading '/' is refused, so "//etc/passwd" never looks like an absolute path.
 * - '..' components and backslashes are refused (error 2), never resolved: a client has no reason
 *   to send them. Empty and '.' components are dropped ("a//./b" is "a/b").
 */
import { ErrorCode } from './packet';

export const MAX_PATH_LENGTH = 255;

export interface PathPolicy {
  /** Treat "/x" as "x" (default true). When false, any leading '/' is an access violation. */
  readonly stripLeadingSlash: boolean;
  readonly maxLength: number;
}

export const DEFAULT_PATH_POLICY: PathPolicy = { stripLeadingSlash: true, maxLength: MAX_PATH_LENGTH };

export type PathCheck =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

const refuse = (message: string): PathCheck => ({ ok: false, code: ErrorCode.ACCESS_VIOLATION, message });

export function checkRequestPath(raw: string, policy: PathPolicy = DEFAULT_PATH_POLICY): PathCheck {
  if (raw.length === 0) return refuse('empty file name');
  if (raw.length > policy.maxLength) return refuse('file name too long');
  if (!/^[\x20-\x7e]+$/.test(raw)) return refuse('file name must be printable ASCII');
  if (raw.includes('\\')) return refuse('backslash in file name');
  let rest = raw;
  if (rest.startsWith('/')) {
    if (!policy.stripLeadingSlash) return refuse('absolute path');
    rest = rest.slice(1);
    if (rest.startsWith('/')) return refuse('absolute path');
  }
  const parts: string[] = [];
  for (const part of rest.split('/')) {
    if (part === '..') return refuse("'..' in file name");
    if (part === '' || part === '.') continue;
    parts.push(part);
  }
  if (parts.length === 0) return refuse('no file in name');
  return { ok: true, path: parts.join('/') };
}

/**
 * The same rules as a yes/no, for FileSources that want to re-check what they are given
 * (defence in depth: a source may be called by something other than this server).
 */
export function isSafeRelativePath(path: string): boolean {
  const check = checkRequestPath(path, { stripLeadingSlash: false, maxLength: MAX_PATH_LENGTH });
  return check.ok && check.path === path;
}
