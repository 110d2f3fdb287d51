/**
 * The job description the agent fetches (docs/agent-protocol.md): text/plain, one key=value per
 * line. The agent is a POSIX shell script that reads these values without eval, so every key and
 * value is re-checked here against a closed character set, whatever validated it before: a value
 * that slipped through would otherwise become a shell or udpcast argument on a machine as root.
 */
import type { ActionParams, ActionRow, AutoReboot, TargetRow } from '../actions/model/action-types';
import { DEFAULT_UDPCAST_TUNING, type UdpcastTuning } from '../actions/params/udpcast-tuning';

const KEY = /^[a-z_]+$/;
/** Backup upload piece size (src/images/image-types.ts DEFAULT_CHUNK_BYTES). */
export const BACKUP_CHUNK_MB = 64;
const VALUE = /^[A-Za-z0-9._:/,@+-]*$/;

export function renderKeyValues(pairs: ReadonlyArray<readonly [string, string | number]>): string {
  return pairs
    .map(([k, v]) => {
      const value = String(v);
      if (!KEY.test(k)) throw new Error(`job description: bad key ${JSON.stringify(k)}`);
      if (!VALUE.test(value)) throw new Error(`job description: unsafe value for ${k}`);
      return `${k}=${value}\n`;
    })
    .join('');
}

function paramPairs(params: ActionParams, role: TargetRow['role'], port: number | null, tuning: UdpcastTuning): Array<[string, string | number]> {
  switch (params.type) {
    case 'clone': {
      const common: Array<[string, string | number]> = [
        ['disk', params.disk],
        ['port', port ?? 0],
        ['compression', params.compression],
      ];
      if (role === 'sender') {
        return [
          ...common,
          ['min_receivers', params.minReceivers],
          // The form speaks minutes (as SE3 did); udpcast takes seconds.
          ['min_wait', params.minWaitMinutes * 60],
          ['max_wait', params.maxWaitMinutes * 60],
          ['retries_until_drop', tuning.retriesUntilDrop],
          ...(tuning.maxBitrate ? [['max_bitrate', tuning.maxBitrate] as [string, string]] : []),
          ['auto_reboot', params.autoReboot],
        ];
      }
      return [...common, ['start_timeout', params.startTimeoutMinutes * 60], ['auto_reboot', params.autoReboot]];
    }
    // store: server image store, storage partition or SMB share (docs/backup-restore.md);
    // chunk_mb: size of the pieces the agent writes. An empty restore image means the newest.
    case 'backup':
      return [['disk', params.disk], ['compression', params.compression], ['image', params.image], ...storePairs(params),
        ['chunk_mb', BACKUP_CHUNK_MB], ['auto_reboot', params.autoReboot]];
    case 'restore':
      return [['disk', params.disk], ['image', params.image], ...storePairs(params), ['auto_reboot', params.autoReboot]];
    case 'report':
      return [['auto_reboot', params.autoReboot]];
    case 'memtest':
      return [];
    // The receiver of a server multicast: udpcast port, how long it waits for the first session,
    // and which image it reads the manifest of (the image routes allow that one only).
    case 'deploy':
      return [['disk', params.disk], ['port', port ?? 0], ['start_timeout', params.startTimeoutMinutes * 60],
        ['source', params.sourceMac.replace(/:/g, '-')], ['image', params.image], ['store', 'server'], ['auto_reboot', params.autoReboot]];
  }
}

/** Actions stored before the store choice existed have none: server. No SMB secret ever goes here. */
function storePairs(params: { store?: string; storagePart?: string }): Array<[string, string]> {
  const store = params.store ?? 'server';
  return store === 'partition' ? [['store', store], ['storage_part', params.storagePart ?? 'auto']] : [['store', store]];
}

export function jobDescription(action: ActionRow, target: TargetRow, tuning: UdpcastTuning = DEFAULT_UDPCAST_TUNING): string {
  if ((action.type === 'clone' || action.type === 'deploy') && action.port === null) throw new Error(`a ${action.type} action has a port`);
  return renderKeyValues([
    ['job', target.id],
    ['role', target.role],
    ['name', target.name],
    ...paramPairs(action.params, target.role, action.port, tuning),
  ]);
}

/** What the agent does after its result: the answer line of POST …/result. */
export function rebootAfter(params: ActionParams, status: 'succeeded' | 'failed'): 'always' | 'never' {
  const policy: AutoReboot = params.type === 'memtest' ? 'never' : params.autoReboot;
  if (policy === 'always') return 'always';
  if (policy === 'success') return status === 'succeeded' ? 'always' : 'never';
  return 'never';
}
