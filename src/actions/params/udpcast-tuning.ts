import { CLONE_SETTINGS } from '../../settings/clone';

/**
 * Sender-side udpcast settings that belong to the network, not to one action: read from module
 * settings (clone.retriesUntilDrop, clone.maxBitrate: src/settings/clone.ts says why their
 * defaults) when a sender fetches its job, so an admin's change applies to the next clone.
 * `max_bitrate` caps the multicast rate on networks shared with classes in session.
 */
export interface UdpcastTuning {
  readonly retriesUntilDrop: number;
  /** null: no cap (udpcast's own rate control). */
  readonly maxBitrate: string | null;
}

export const DEFAULT_UDPCAST_TUNING: UdpcastTuning = {
  retriesUntilDrop: CLONE_SETTINGS.settings.retriesUntilDrop.default, maxBitrate: CLONE_SETTINGS.settings.maxBitrate.default,
};

export { MAX_BITRATE_PATTERN } from '../../settings/clone';
