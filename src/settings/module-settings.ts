/**
 * The typed settings reader services receive: `settings.clone().disk`, never a key string and a
 * repeated default. Each call reads the store again, so a change on the Configuration page applies
 * to the next use. Strict readers throw the InputError of the first unusable value (it names the
 * key); lenient ones fall back to the declared default, where a bad value must never block work.
 */
import { InputError } from '../common/domain/errors';
import type { SambaCredentials } from '../samba/samba-command';
import { parseSambaCredentials } from '../samba/samba-command';
import type { SmbConfig } from '../images/smb-settings';
import type { UdpcastTuning } from '../actions/params/udpcast-tuning';
import { ACTION_SETTINGS, CLONE_SETTINGS } from './clone';
import { MENU_SETTINGS, TFTP_SETTINGS } from './boot';
import { DEPLOY_SETTINGS } from './deploy';
import { STORAGE_SETTINGS } from './storage';
import { JOIN_SETTINGS, NETLOGON_SETTINGS, WAKE_SETTINGS } from './accounts';
import { readLenient, readStrict, type SettingsSource, type ValuesOf } from './setting';

export type MenuValues = ValuesOf<typeof MENU_SETTINGS.settings>;
export type CloneValues = ValuesOf<typeof CLONE_SETTINGS.settings>;
export type ActionValues = ValuesOf<typeof ACTION_SETTINGS.settings>;
export type StorageValues = ValuesOf<typeof STORAGE_SETTINGS.settings>;
export type DeployValues = ValuesOf<typeof DEPLOY_SETTINGS.settings>;
export type NetlogonValues = ValuesOf<typeof NETLOGON_SETTINGS.settings>;

export interface JoinCredentials {
  readonly domain: string;
  readonly username: string;
  readonly password: string;
}

const NONE: SettingsSource = { getOr: <T>(_k: string, fallback: T) => fallback };

export class ModuleSettings {
  /** `store`: the host's settings store (seeded from module.json); absent: every default. */
  constructor(readonly store: SettingsSource = NONE) {}

  /** Boot menu; strict: a bad value must never reach a boot file. */
  menu(): MenuValues {
    return readStrict(this.store, MENU_SETTINGS);
  }

  /** The UEFI chain offered (lenient: a bad stored value is the default, secureboot). */
  uefiChain(): MenuValues['uefiChain'] {
    return readLenient(this.store, MENU_SETTINGS).uefiChain;
  }

  tftp(): ValuesOf<typeof TFTP_SETTINGS.settings> {
    return readLenient(this.store, TFTP_SETTINGS);
  }

  /** What the wizard proposes, and the clones' udpcast tuning; lenient. */
  clone(): CloneValues {
    return readLenient(this.store, CLONE_SETTINGS);
  }

  /** The clones' sender-side udpcast tuning (lenient: a bad setting never blocks a clone). */
  udpcastTuning(): UdpcastTuning {
    const { retriesUntilDrop, maxBitrate } = this.clone();
    return { retriesUntilDrop, maxBitrate };
  }

  /** Stage timeouts (lenient); `toolkit` is checked when read (toolkit()). */
  actions(): Omit<ActionValues, 'toolkit' | 'addressCheck'> {
    const { toolkit: _t, addressCheck: _a, ...rest } = readLenient(this.store, ACTION_SETTINGS);
    return rest;
  }

  /** Where agent calls may come from; an unusable value is the strict `reserved` (it must not open the door). */
  addressCheck(): ActionValues['addressCheck'] {
    return readLenient(this.store, ACTION_SETTINGS).addressCheck;
  }

  /** The job toolkit as stored, for display (the default when blank). */
  jobToolkit(): string {
    const v = this.store.getOr<unknown>(ACTION_SETTINGS.settings.toolkit.key, ACTION_SETTINGS.settings.toolkit.default);
    return typeof v === 'string' && v !== '' ? v : ACTION_SETTINGS.settings.toolkit.default;
  }

  /** The toolkit jobs boot; strict: a bad name fails the action rather than arming anything. */
  toolkit(): string {
    return ACTION_SETTINGS.settings.toolkit.parse(this.store.getOr<unknown>(ACTION_SETTINGS.settings.toolkit.key, 'clonage'));
  }

  /** Backup target (lenient) and retention; `retention` is null when the stored value is unusable. */
  storage(): { target: StorageValues['target']; retention: string | null } {
    const s = STORAGE_SETTINGS.settings;
    let retention: string | null;
    try {
      retention = s.retention.parse(this.store.getOr<unknown>(s.retention.key, s.retention.default));
    } catch {
      retention = null;
    }
    return { target: readLenient(this.store, STORAGE_SETTINGS).target, retention };
  }

  /** The SMB share of store=smb, or null when there is none (server or share blank, or a value unusable). */
  smb(): SmbConfig | null {
    let v: StorageValues;
    try {
      v = readStrict(this.store, STORAGE_SETTINGS);
    } catch {
      return null;
    }
    if (!v.smbServer || !v.smbShare) return null;
    return { server: v.smbServer, share: v.smbShare, subdir: v.smbSubdir, user: v.smbUser, domain: v.smbDomain, password: v.smbPassword ?? '' };
  }

  /** The deploy sender's settings; strict (the caller refuses the deploy with the reason). */
  deploy(): DeployValues {
    return readStrict(this.store, DEPLOY_SETTINGS);
  }

  wakeMethod(): ValuesOf<typeof WAKE_SETTINGS.settings>['method'] {
    const m = WAKE_SETTINGS.settings.method;
    return m.parse(this.store.getOr<unknown>(m.key, m.default));
  }

  /** The `net rpc shutdown` account, or null when no user name is set. Throws on an unusable value. */
  rpcAccount(): SambaCredentials | null {
    const v = readStrict(this.store, WAKE_SETTINGS);
    if (!v.rpcUsername) return null;
    return parseSambaCredentials({ username: v.rpcUsername, password: v.rpcPassword ?? '', domain: v.rpcDomain });
  }

  /** Where the emitter's scripts go, and the script options; strict (the action fails naming the key). */
  netlogon(): NetlogonValues {
    return readStrict(this.store, NETLOGON_SETTINGS);
  }

  /** The emitter script options: lenient (a bad delay is the default delay). */
  emitterScript(): { rebootDelaySeconds: number; uefiPxeOnce: boolean } {
    const { rebootDelaySeconds, uefiPxeOnce } = readLenient(this.store, NETLOGON_SETTINGS);
    return { rebootDelaySeconds, uefiPxeOnce };
  }

  postCloneValidHours(): number {
    return readLenient(this.store, JOIN_SETTINGS).validHours;
  }

  /** The account the clones join the domain with, or null (rename only). All three keys or none. */
  join(): JoinCredentials | null {
    const v = readStrict(this.store, JOIN_SETTINGS);
    const why = JOIN_SETTINGS.check?.(v) ?? {};
    const culprit = Object.keys(why)[0] as keyof typeof JOIN_SETTINGS.settings | undefined;
    if (culprit) {
      const key = JOIN_SETTINGS.settings[culprit].key;
      throw new InputError(`${key}: the join account needs a domain, a user name and a password`, key);
    }
    return v.password === null ? null : { domain: v.domain, username: v.username, password: v.password };
  }
}
