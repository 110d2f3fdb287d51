/**
 * FileSources for the TFTP server: a directory on disk, jailed by realpath, and `routes`, which
 * sends a path prefix (e.g. 'pxelinux.cfg/') to another source and everything else to a fallback.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ForbiddenError } from '../common/domain/errors';
import type { FileSource, TftpClient, TftpFile } from './file-source';
import { isSafeRelativePath } from './request-path';

/** Errors that mean "no such file" rather than "something is wrong". */
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR']);

function isNotFound(err: unknown): boolean {
  return NOT_FOUND_CODES.has((err as NodeJS.ErrnoException).code ?? '');
}

/** A file read at offsets through one FileHandle: only the blocks asked for are in memory. */
function handleFile(handle: fs.FileHandle, size: number): TftpFile {
  let closed: Promise<void> | null = null;
  return {
    size,
    async read(offset, length) {
      const want = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.allocUnsafe(want);
      let filled = 0;
      // read() may return fewer bytes than asked without being at EOF: loop until done or EOF.
      while (filled < want) {
        const { bytesRead } = await handle.read(buf, filled, want - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buf.subarray(0, filled);
    },
    close() {
      closed ??= handle.close();
      return closed;
    },
  };
}

/**
 * Serves regular files under `root`. The server has already refused '..', absolute paths and
 * odd characters; this source checks again (it may be used elsewhere) and then resolves the real
 * path, so a symlink pointing out of the root is refused with ForbiddenError (TFTP error 2).
 * Symlinks that stay inside the root are followed: boot trees use them for shared kernels.
 */
export class DirectorySource implements FileSource {
  constructor(private readonly root: string) {}

  async open(requested: string, _client: TftpClient): Promise<TftpFile | null> {
    if (!isSafeRelativePath(requested)) throw new ForbiddenError(`unsafe path: ${JSON.stringify(requested)}`);
    const root = await fs.realpath(this.root);
    let real: string;
    try {
      real = await fs.realpath(path.join(root, requested));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    if (real !== root && !real.startsWith(root + path.sep)) {
      throw new ForbiddenError(`path leaves the TFTP root: ${requested}`);
    }
    // Refused before open: opening a FIFO blocks a libuv thread until a writer comes (four such
    // requests stall every file operation of the process), and opening a device can act on it.
    try {
      if (!(await fs.stat(real)).isFile()) throw new ForbiddenError(`not a regular file: ${requested}`);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    let handle: fs.FileHandle;
    try {
      // O_NOFOLLOW: the resolved path must not have become a symlink since realpath (a race);
      // O_NONBLOCK: nor a FIFO since stat (no effect on a regular file).
      handle = await fs.open(real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    } catch (err) {
      if (isNotFound(err)) return null;
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new ForbiddenError(`symlink race on ${requested}`);
      throw err;
    }
    try {
      const stat = await handle.stat();
      // Checked again on the open file: the path may have been swapped after the stat.
      if (!stat.isFile()) throw new ForbiddenError(`not a regular file: ${requested}`);
      return handleFile(handle, stat.size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }
}

