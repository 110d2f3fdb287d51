/**
 * What the wizard proposes (SE3's pref_clonage_*), the udpcast tuning of clones, and the action
 * engine's timeouts and toolkit. Values an action takes are checked again by the action parsers.
 */
import { AUTO_REBOOTS, COMPRESSIONS } from '../actions/model/action-types';
import { AUTO_DISK, CLONE_DOMAINS, DISK_PATTERN, MAX_WAIT_MINUTES } from '../actions/params/clone-params';
import { TOOLKIT_NAME_PATTERN } from '../boot/boot-plan';
import { ADDRESS_CHECKS } from '../agent/agent-caller';
import type { ModuleMessageKey } from '../i18n/module-messages';
import { choice, group, int, optionalText, text } from './setting';

/** udp-sender's --max-bitrate shape; the agent accepts the same (pxe/agent/agent-lib.sh check_job_values). */
export const MAX_BITRATE_PATTERN = /^[1-9][0-9]{0,5}[kmg]?$/i;

const COMPRESSION_LABELS: Record<(typeof COMPRESSIONS)[number], ModuleMessageKey | null> = { zstd: null, lzop: null, gzip: null, none: 'config.compression.none' };
const REBOOT_LABELS: Record<(typeof AUTO_REBOOTS)[number], ModuleMessageKey> = { always: 'reboot.always', success: 'config.reboot.success', never: 'reboot.never' };
const DOMAIN_LABELS: Record<(typeof CLONE_DOMAINS)[number], ModuleMessageKey> = { none: 'config.domain.none', 'windows-domain': 'config.domain.windows' };
const ORDER = ['zstd', 'lzop', 'gzip', 'none'] as const;

export const CLONE_SETTINGS = group({
  id: 'clone',
  legend: 'config.wizardDefaults',
  settings: {
    /** '' (the default): each PC's agent takes its first fixed disk; else a disk name for every PC. */
    disk: text('clone.disk', AUTO_DISK, (v) => v === AUTO_DISK || DISK_PATTERN.test(v), { label: 'label.disk', error: 'settings.error.disk', maxLength: 12 }),
    compression: choice('clone.compression', 'zstd', ORDER.map((value) => ({ value, label: COMPRESSION_LABELS[value] })),
      { label: 'label.compression', error: 'config.error.refused' }),
    domain: choice('clone.domain', 'none', CLONE_DOMAINS.map((value) => ({ value, label: DOMAIN_LABELS[value] })), { label: 'label.domain', error: 'config.error.refused' }),
    minWaitMinutes: int('clone.minWaitMinutes', 10, 0, MAX_WAIT_MINUTES, { label: 'config.minWait', error: 'settings.error.range' }),
    maxWaitMinutes: int('clone.maxWaitMinutes', 15, 1, MAX_WAIT_MINUTES, { label: 'config.maxWait', error: 'settings.error.range' }),
    startTimeoutMinutes: int('clone.startTimeoutMinutes', 20, 1, MAX_WAIT_MINUTES, { label: 'config.startTimeout', error: 'settings.error.range' }),
    autoReboot: choice('clone.autoReboot', 'always', (['always', 'success', 'never'] as const).map((value) => ({ value, label: REBOOT_LABELS[value] })),
      { label: 'config.autoReboot', error: 'config.error.refused' }),
    /**
     * udp-sender retransmits a control message this many times (about one per second) before
     * dropping a silent receiver: udpcast's 200 kept a classroom waiting minutes for one PC
     * switched off mid-clone; 60 still rides out a receiver busy flushing its disk.
     */
    retriesUntilDrop: int('clone.retriesUntilDrop', 60, 5, 1000, { label: 'settings.clone.retries', error: 'settings.error.range' }),
    /** udpcast syntax (digits, optional k/m/g, bits per second); null: udpcast's own rate control. */
    maxBitrate: optionalText('clone.maxBitrate', (v) => MAX_BITRATE_PATTERN.test(v),
      { label: 'settings.clone.maxBitrate', error: 'config.error.deployMaxBitrate', maxLength: 8 }, (v) => v.toLowerCase()),
  },
  check: (v) => ({
    ...(v.maxWaitMinutes < v.minWaitMinutes ? { maxWaitMinutes: 'config.error.maxBelowMin' as const } : {}),
    ...(v.startTimeoutMinutes < v.maxWaitMinutes ? { startTimeoutMinutes: 'config.error.timeoutBelowMax' as const } : {}),
  }),
});

const DAY = 24 * 60;
const ADDRESS_CHECK_LABELS: Record<(typeof ADDRESS_CHECKS)[number], ModuleMessageKey> = {
  reserved: 'settings.agent.addressCheck.reserved', fetcher: 'settings.agent.addressCheck.fetcher',
};

export const ACTION_SETTINGS = group({
  id: 'actions',
  legend: 'settings.actions',
  settings: {
    /** The toolkit a job boots (an installed toolkit's name). */
    // Chosen among the installed toolkits that run jobs (POST /config/job-toolkit), so not a free field.
    toolkit: text('toolkit.default', 'clonage', (v) => TOOLKIT_NAME_PATTERN.test(v), { kind: 'hidden', label: 'settings.toolkit', error: 'settings.error.toolkit', maxLength: 64 }),
    /** Preparing (emitter scripts placed, waiting for the Windows emitter's acknowledgement). */
    preparingMinutes: int('emitter.ackTimeoutMinutes', 40, 1, DAY, { label: 'settings.actions.preparing', error: 'settings.error.range' }),
    /** Armed: boot plans written, waiting for the PCs to boot and fetch their job. */
    armedMinutes: int('action.armedTimeoutMinutes', 60, 1, DAY, { label: 'settings.actions.armed', error: 'settings.error.range' }),
    /** Running: the longest silence of an agent before its job is failed. */
    silenceMinutes: int('action.silenceTimeoutMinutes', 30, 1, DAY, { label: 'settings.actions.silence', error: 'settings.error.range' }),
    /** While data moves (not a waiting stage) a PC is silent this long at most (the shorter of the two applies). */
    activeSilenceMinutes: int('action.activeSilenceMinutes', 5, 1, DAY, { label: 'settings.actions.activeSilence', error: 'settings.error.range' }),
    /**
     * How often the server applies the limits above and starts due schedules: a limit fires at most
     * this late. Read once at the module's start.
     */
    checkSeconds: int('action.checkIntervalSeconds', 15, 1, 300, { label: 'settings.actions.checkInterval', error: 'settings.error.range' }),
    /**
     * `reserved`: the job fetch, later agent calls and token-carrying boot files only from the
     * target's reserved IP; `fetcher`: from the address that fetched the job (PCs behind NAT).
     */
    addressCheck: choice('agent.addressCheck', 'reserved', ADDRESS_CHECKS.map((value) => ({ value, label: ADDRESS_CHECK_LABELS[value] })),
      { label: 'settings.agent.addressCheck', error: 'config.error.refused' }),
  },
});
