/**
 * Where backups go (SE3's type_dest_part) and how many are kept, and the SMB share of store=smb
 * (SE3's dest_srv, dest_partage, dest_sous_dossier, dest_compte, dest_mdp). Every SMB value
 * reaches busybox `mount -t cifs` as one argument: closed character sets, no "," (the mount
 * option separator) nor a line break (the agent's credentials answer is lines).
 */
import { STORES } from '../actions/params/store-params';
import type { ModuleMessageKey } from '../i18n/module-messages';
import { isSmbServer, SMB_PATTERNS } from '../images/smb-settings';
import { choice, group, password, text } from './setting';

const STORE_LABELS: Record<(typeof STORES)[number], ModuleMessageKey> = {
  server: 'config.storage.server', partition: 'config.storage.partition', smb: 'config.storage.smb',
};
/** Keep all, the K last (1–99), or delete after N months (1–24): what an admin chooses among. */
const RETENTION = /^(all|keep-last-(?:[1-9]|[1-9]\d)|older-than-(?:[1-9]|1\d|2[0-4])-months)$/;
const blankOr = (ok: (v: string) => boolean) => (v: string) => v === '' || ok(v);

export const STORAGE_SETTINGS = group({
  id: 'storage',
  legend: 'config.storage',
  hint: 'config.storage.smbPasswordHint',
  account: 'smb',
  settings: {
    target: choice('backup.target', 'server', STORES.map((value) => ({ value, label: STORE_LABELS[value] })),
      { label: 'config.storage.target', error: 'config.error.backupTarget' }),
    retention: text('backup.retention', 'keep-last-3', (v) => RETENTION.test(v),
      { label: 'config.retention', error: 'config.error.retention', placeholder: 'all, keep-last-3, older-than-6-months', maxLength: 24 }),
    smbServer: text('smb.server', '', blankOr(isSmbServer), { label: 'config.storage.smbServer', error: 'config.error.smbServer', maxLength: 253 }),
    smbShare: text('smb.share', '', blankOr((v) => SMB_PATTERNS.share.test(v)), { label: 'config.storage.smbShare', error: 'config.error.smbShare', maxLength: 80 }),
    smbSubdir: text('smb.subdir', '', blankOr((v) => v.length <= 200 && v.split('/').every((s) => SMB_PATTERNS.segment.test(s))),
      { label: 'config.storage.smbSubdir', error: 'config.error.smbSubdir', maxLength: 200, placeholder: 'clonage' }),
    smbUser: text('smb.user', '', blankOr((v) => SMB_PATTERNS.user.test(v)), { label: 'config.storage.smbUser', error: 'config.error.smbUser', maxLength: 64 }),
    smbDomain: text('smb.domain', '', blankOr((v) => SMB_PATTERNS.domain.test(v)), { label: 'config.storage.smbDomain', error: 'config.error.smbDomain', maxLength: 64 }),
    /** Stored as given (the PC must present it); reaches only the agent of a running smb job. */
    smbPassword: password('smb.password', { secret: true, ok: (v) => SMB_PATTERNS.password.test(v),
      field: { label: 'config.storage.smbPassword', error: 'config.error.smbPassword', maxLength: 128 } }),
  },
  check: (v) => (v.smbServer === '' !== (v.smbShare === '') ? { [v.smbServer === '' ? 'smbServer' : 'smbShare']: 'config.error.smbPair' as const } : {}),
});
