/**
 * The data dir holds the database (service passwords, tokens of armed plans, sessions) and the
 * images (whole disks of the school's PCs): only the service's user may read any of it
 * (issue 12: they were 0644 in 0755). New files get it from the umask the shell sets at start;
 * an existing install is fixed here, once per start: every folder 0700 at most, every file 0600
 * at most (group and other bits removed, the owner's kept, so executables stay executable).
 *
 * Symbolic links are not followed and hard-linked files not changed: a link in the data dir must
 * not make us chmod a file elsewhere.
 * A generated dnsmasq configuration that dnsmasq reads after dropping root must therefore live
 * outside the data dir (`dhcp.configFile`; docs/security.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../host/contract';

/** The umask of the service: files 0600, folders 0700. */
export const SERVICE_UMASK = 0o077;

/** Removes group and other permissions under `dir` (and on it); returns how many entries changed. */
export function secureDataDir(dir: string, logger: Logger): number {
  let changed = 0;
  const tighten = (p: string, st: fs.Stats) => {
    if ((st.mode & 0o077) === 0) return;
    fs.chmodSync(p, st.mode & 0o700);
    changed += 1;
  };
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    // A file with other hard links may be a system file (the boot root links Debian's loaders):
    // its mode is not ours to change. The 0700 data dir keeps others out of it anyway.
    if (st.isDirectory() || st.nlink === 1) tighten(p, st);
    if (!st.isDirectory()) return;
    for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
  if (changed > 0) logger.warn('data dir: group and other permissions removed (an install from before they were)', { dataDir: dir, entries: changed });
  return changed;
}
