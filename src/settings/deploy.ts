/** The server-side udp-sender of multicast deploys (src/deploy/). A bad value refuses the deploy. */
import { MAX_BITRATE_PATTERN } from './clone';
import { group, int, text } from './setting';

const IFACE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

export const DEPLOY_SETTINGS = group({
  id: 'deploy',
  legend: 'config.deploy',
  settings: {
    /** The server interface facing the PCs. */
    iface: text('deploy.interface', 'br0', (v) => IFACE.test(v) && v !== '.' && v !== '..', { label: 'config.deploy.interface', error: 'config.error.deployInterface', maxLength: 15 }),
    /** udp-sender --max-bitrate, e.g. 600m; empty: none. */
    maxBitrate: text('deploy.maxBitrate', '', (v) => v === '' || MAX_BITRATE_PATTERN.test(v), { label: 'config.deploy.maxBitrate', error: 'config.error.deployMaxBitrate', maxLength: 8 }),
    /** udp-sender --retries-until-drop: a dead receiver is dropped after this many. */
    retriesUntilDrop: int('deploy.retriesUntilDrop', 30, 1, 1000, { label: 'config.deploy.retries', error: 'config.error.deployRetries' }),
  },
});
