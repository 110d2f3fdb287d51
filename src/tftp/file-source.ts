/**
 * What the TFTP server serves. The server knows nothing about booting: it asks a FileSource for
 * a path and streams what it gets. The boot service provides one that renders pxelinux.cfg/*
 * from boot plans and serves static files from the boot root.
 */
export interface TftpClient {
  readonly address: string;
  readonly port: number;
}

export interface TftpFile {
  /** Size in bytes, announced with the tsize option (RFC 2349). */
  readonly size: number;
  /** Reads up to `length` bytes at `offset`; a shorter buffer only at end of file. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export interface FileSource {
  /**
   * `path` is the client's request, already checked by the server to be relative, without '..',
   * NUL bytes or backslashes. Returns null for "file not found" (TFTP error 1).
   */
  open(path: string, client: TftpClient): Promise<TftpFile | null>;
}

/** A file held in memory (rendered boot configs). */
export function bufferFile(data: Buffer): TftpFile {
  return {
    size: data.length,
    read: async (offset, length) => data.subarray(offset, Math.min(offset + length, data.length)),
    close: async () => undefined,
  };
}
