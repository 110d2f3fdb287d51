/** Options of TftpServer, their defaults and their validation (bad values fail at construction). */
import { InputError } from '../common/domain/errors';
import type { Clock, Logger } from '../host/contract';
import type { FileSource } from './file-source';
import { MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, type NegotiationLimits } from './options';
import { systemTimers, type Timers } from './read-transfer';
import { MAX_PATH_LENGTH, type PathPolicy } from './request-path';

export interface TftpServerOptions {
  readonly source: FileSource;
  /** UDP port of the request socket; 0 picks a free port (read it back with `port`). */
  readonly port: number;
  /** Address to bind; all interfaces when absent. Set it on multi-homed hosts (see docs). */
  readonly address?: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Retransmission timeout when the client does not negotiate `timeout` (default 1000). */
  readonly retransmitTimeoutMs?: number;
  /** Retransmissions of one window before the client is dropped (default 5). */
  readonly maxRetries?: number;
  /** Concurrent transfers; requests beyond are dropped unanswered so clients retry (default 500). */
  readonly maxSessions?: number;
  /**
   * Concurrent transfers from one client address (default 8): one host must not take every
   * slot and stop the other PCs from booting. A PXE ROM or pxelinux loads one file at a time.
   */
  readonly maxSessionsPerClient?: number;
  /**
   * Fixed deadline for the first acknowledgement (of the OACK, or of DATA 1), whatever timeout
   * was negotiated (default 10000): a request that is never followed up frees its slot quickly.
   */
  readonly handshakeDeadlineMs?: number;
  /** Largest `timeout` option accepted, in seconds; bigger ones are declined (default 5). */
  readonly maxTimeoutSeconds?: number;
  /**
   * File bytes all transfers together may hold in memory (windows and read-ahead; default
   * 64 MiB). A request that would exceed it gets a smaller window, or is dropped unanswered
   * (the client retries) when not even one block fits.
   */
  readonly maxBufferedBytes?: number;
  /** The share of that budget one client address may hold (default a sixteenth of it). */
  readonly maxBufferedBytesPerClient?: number;
  /** Largest blksize granted (default 65464, the RFC 2348 maximum). */
  readonly maxBlockSize?: number;
  /** Largest windowsize granted (default 64). */
  readonly maxWindowSize?: number;
  /** Serve "/x" as "x" (default true). */
  readonly stripLeadingSlash?: boolean;
  /** Bytes read from a file at once per transfer (default 64 KiB; memory is this × sessions). */
  readonly readAheadBytes?: number;
}

/** The options with defaults applied, validated. */
export interface ServerConfig {
  readonly source: FileSource;
  readonly port: number;
  readonly address: string | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly maxRetries: number;
  readonly maxSessions: number;
  readonly maxSessionsPerClient: number;
  readonly handshakeDeadlineMs: number;
  readonly maxBufferedBytes: number;
  readonly maxBufferedBytesPerClient: number;
  readonly limits: NegotiationLimits;
  readonly pathPolicy: PathPolicy;
  readonly readAheadBytes: number;
}

const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const systemClock: Clock = { now: () => new Date() };

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`${name} must be an integer in ${min}..${max}`, name);
  }
  return value;
}

export function resolveServerOptions(opts: TftpServerOptions): ServerConfig {
  const buffered = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
  return {
    source: opts.source,
    port: checkInt('port', opts.port, 0, 65535),
    address: opts.address,
    logger: opts.logger ?? silentLogger,
    clock: opts.clock ?? systemClock,
    timers: opts.timers ?? systemTimers,
    maxRetries: checkInt('maxRetries', opts.maxRetries ?? 5, 0, 100),
    maxSessions: checkInt('maxSessions', opts.maxSessions ?? 500, 1, 100000),
    maxSessionsPerClient: checkInt('maxSessionsPerClient', opts.maxSessionsPerClient ?? 8, 1, 100000),
    handshakeDeadlineMs: checkInt('handshakeDeadlineMs', opts.handshakeDeadlineMs ?? 10_000, 1, 255_000),
    maxBufferedBytes: checkInt('maxBufferedBytes', buffered, 1, 2 ** 40),
    maxBufferedBytesPerClient: checkInt('maxBufferedBytesPerClient', opts.maxBufferedBytesPerClient ?? Math.ceil(buffered / 16), 1, 2 ** 40),
    limits: {
      defaultTimeoutMs: checkInt('retransmitTimeoutMs', opts.retransmitTimeoutMs ?? 1000, 1, 255000),
      maxBlockSize: checkInt('maxBlockSize', opts.maxBlockSize ?? MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE),
      // Below 65535 so a window never spans a whole block-number period, even with rollover 1.
      maxWindowSize: checkInt('maxWindowSize', opts.maxWindowSize ?? 64, 1, 65534),
      maxTimeoutSeconds: checkInt('maxTimeoutSeconds', opts.maxTimeoutSeconds ?? 5, 1, 255),
    },
    pathPolicy: { stripLeadingSlash: opts.stripLeadingSlash ?? true, maxLength: MAX_PATH_LENGTH },
    readAheadBytes: checkInt('readAheadBytes', opts.readAheadBytes ?? 65536, 0, 16 * 1024 * 1024),
  };
}
