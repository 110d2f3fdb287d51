/**
 * The memory a transfer may hold, fitted to what is left of the server's buffered-bytes budget.
 * Pure: the server keeps the running total and calls this before it answers a request.
 *
 * A transfer holds one read-ahead chunk (at least a window: blksize × windowsize, up to 4 MiB
 * with the defaults; at most the file) and the DATA packets of its window. When the budget is short the read-ahead is dropped to
 * the window, then the window shrinks (the OACK says so, RFC 7440 allows a smaller answer); when
 * not even one block fits the request is dropped and the client retries later.
 */
import { negotiateOptions, type Negotiated, type NegotiationLimits } from './options';
import type { TftpOption } from './packet';

export interface Fitted {
  readonly negotiated: Negotiated;
  readonly readAheadBytes: number;
  /** Bytes counted against the budget until the transfer ends. */
  readonly reservedBytes: number;
}

export function fitToBudget(
  requested: readonly TftpOption[],
  fileSize: number,
  limits: NegotiationLimits,
  readAheadBytes: number,
  availableBytes: number,
): Fitted | null {
  const negotiated = negotiateOptions(requested, fileSize, limits);
  // Counted twice: once in the read-ahead chunk, once in the DATA packets built from it, which
  // are copies held until the socket has sent them.
  const windowBytes = Math.min(fileSize, negotiated.blockSize * negotiated.windowSize);
  const full = Math.min(fileSize, Math.max(windowBytes, readAheadBytes)) + windowBytes;
  if (full <= availableBytes) return { negotiated, readAheadBytes, reservedBytes: full };
  if (2 * windowBytes <= availableBytes) return { negotiated, readAheadBytes: 0, reservedBytes: 2 * windowBytes };
  const window = Math.floor(availableBytes / (2 * negotiated.blockSize));
  if (window < 1) return null;
  const smaller = negotiateOptions(requested, fileSize, { ...limits, maxWindowSize: Math.min(window, limits.maxWindowSize) });
  return { negotiated: smaller, readAheadBytes: 0, reservedBytes: 2 * Math.min(fileSize, smaller.blockSize * smaller.windowSize) };
}
