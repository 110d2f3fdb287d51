/**
 * Option negotiation for a read request (RFC 2347), pure.
 *
 * Known options: blksize (RFC 2348), tsize and timeout (RFC 2349), windowsize (RFC 7440) and the
 * de facto `rollover` (block number after 65535 is 0 or 1). Unknown options and invalid values
 * are left out of the OACK, which RFC 2347 defines as "not accepted": the client then falls back
 * to the default for that option. If nothing is accepted no OACK is sent at all and the transfer
 * starts directly with DATA 1, as a plain RFC 1350 server would.
 */
import type { TftpOption } from './packet';

export const DEFAULT_BLOCK_SIZE = 512;
export const MIN_BLOCK_SIZE = 8;
export const MAX_BLOCK_SIZE = 65464;
export const MAX_WINDOW_SIZE = 65535;

export interface NegotiationLimits {
  /** Largest blksize we agree to; a bigger request is answered with this value (RFC 2348). */
  readonly maxBlockSize: number;
  /** Largest windowsize we agree to; a bigger request is answered with this value (RFC 7440). */
  readonly maxWindowSize: number;
  /** Retransmission timeout when the client does not ask for one. */
  readonly defaultTimeoutMs: number;
  /**
   * Largest `timeout` option accepted, in seconds; a bigger one is declined (RFC 2349 lets the
   * server only use the value or decline it). PXE ROMs ask for 1–4 s; accepting 255 s would let
   * one client hold a session for ~25 minutes of retransmissions.
   */
  readonly maxTimeoutSeconds: number;
}

export interface Negotiated {
  readonly blockSize: number;
  readonly windowSize: number;
  readonly timeoutMs: number;
  /** First block number after 65535. */
  readonly rollover: 0 | 1;
  /** Options to put in the OACK, or null when the client asked for none we accept. */
  readonly oack: readonly TftpOption[] | null;
}

/** Strict decimal: no sign, no exponent, no spaces, at most 10 digits (values fit in a double). */
function parseDecimal(value: string): number | null {
  return /^[0-9]{1,10}$/.test(value) ? Number(value) : null;
}

export function negotiateOptions(
  requested: readonly TftpOption[],
  fileSize: number,
  limits: NegotiationLimits,
): Negotiated {
  let blockSize = DEFAULT_BLOCK_SIZE;
  let windowSize = 1;
  let timeoutMs = limits.defaultTimeoutMs;
  let rollover: 0 | 1 = 0;
  const accepted: TftpOption[] = [];
  const seen = new Set<string>();

  for (const { name: rawName, value } of requested) {
    const name = rawName.toLowerCase();
    // The first occurrence wins; a repeated option is ignored rather than failing the request.
    if (seen.has(name)) continue;
    seen.add(name);
    const n = parseDecimal(value);
    switch (name) {
      case 'blksize':
        if (n === null || n < MIN_BLOCK_SIZE) break;
        blockSize = Math.min(n, limits.maxBlockSize, MAX_BLOCK_SIZE);
        accepted.push({ name, value: String(blockSize) });
        break;
      case 'tsize':
        // For a read request the client sends 0 and we answer the real size. Except for an
        // empty file: curl (7.x, still in Debian 12) rejects "tsize 0" in an OACK as invalid and
        // aborts, so the option is declined instead and the client learns the size from DATA 1.
        if (n === null || fileSize === 0) break;
        accepted.push({ name, value: String(fileSize) });
        break;
      case 'timeout':
        // RFC 2349: 1–255 seconds, and the server must use that value or not accept it.
        if (n === null || n < 1 || n > 255 || n > limits.maxTimeoutSeconds) break;
        timeoutMs = n * 1000;
        accepted.push({ name, value: String(n) });
        break;
      case 'windowsize':
        if (n === null || n < 1) break;
        windowSize = Math.min(n, limits.maxWindowSize, MAX_WINDOW_SIZE);
        accepted.push({ name, value: String(windowSize) });
        break;
      case 'rollover':
        if (n !== 0 && n !== 1) break;
        rollover = n;
        accepted.push({ name, value: String(n) });
        break;
      default:
        break;
    }
  }
  return { blockSize, windowSize, timeoutMs, rollover, oack: accepted.length > 0 ? accepted : null };
}
