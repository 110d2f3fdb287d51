/**
 * Sender-side udpcast settings that belong to the network, not to one action: read from module
 * settings when a sender fetches its job, so an admin's change applies to the next clone.
 *
 * `retries_until_drop`: udp-sender retransmits a control message this many times (about one per
 * second) before dropping a silent receiver. udpcast's default of 200 kept a whole classroom
 * waiting more than three minutes for one PC switched off mid-clone; 60 still rides out a
 * receiver busy flushing its disk. `max_bitrate` (udpcast syntax: digits with an optional k/m/g
 * suffix, bits per second) caps the multicast rate on networks shared with classes in session.
 */
export interface UdpcastTuning {
  readonly retriesUntilDrop: number;
  /** null: no cap (udpcast's own rate control). */
  readonly maxBitrate: string | null;
}

export const DEFAULT_UDPCAST_TUNING: UdpcastTuning = { retriesUntilDrop: 60, maxBitrate: null };

export const RETRIES_RANGE = { min: 5, max: 1000 } as const;
/** udp-sender's --max-bitrate shape; the agent accepts the same (pxe/agent/agent-lib.sh check_job_values). */
export const MAX_BITRATE_PATTERN = /^[1-9][0-9]{0,5}[kmg]?$/i;

/** Unusable values fall back to the defaults (logged by the caller if it wishes): a bad setting never blocks a clone. */
export function udpcastTuningFrom(settings: { getOr<T>(key: string, fallback: T): T }): UdpcastTuning {
  const retries = settings.getOr<unknown>('clone.retriesUntilDrop', DEFAULT_UDPCAST_TUNING.retriesUntilDrop);
  const bitrate = settings.getOr<unknown>('clone.maxBitrate', null);
  return {
    retriesUntilDrop:
      Number.isInteger(retries) && (retries as number) >= RETRIES_RANGE.min && (retries as number) <= RETRIES_RANGE.max
        ? (retries as number)
        : DEFAULT_UDPCAST_TUNING.retriesUntilDrop,
    maxBitrate: typeof bitrate === 'string' && MAX_BITRATE_PATTERN.test(bitrate) ? bitrate.toLowerCase() : null,
  };
}
