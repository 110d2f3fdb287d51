/**
 * Encryption of the service passwords a module keeps in its settings (SMB share, netlogon share,
 * domain join, RPC reboot accounts): AES-256-GCM with a key file only the service reads, so a
 * copy of the database (a backup, a -wal file, a support dump) does not hold them in clear.
 *
 * The key is `<dataDir>/secrets.key` (32 random bytes, base64, mode 0600), made at the first
 * start. Each sealed value names its key (8 hex digits of the key's SHA-256), so a key can be
 * rotated: stop the service, rename `secrets.key` to `secrets.key.old`, start it. The shell then
 * makes a new key, re-seals every secret setting with it, and the old file can be deleted
 * (docs/security.md, "Rotating the secrets key").
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const PREFIX = 'enc1:';

interface Key {
  readonly id: string;
  readonly bytes: Buffer;
}

function keyOf(bytes: Buffer): Key {
  return { id: crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 8), bytes };
}

function readKey(file: string): Key {
  const bytes = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (bytes.length !== 32) throw new Error(`${file}: not a 32-byte base64 key`);
  return keyOf(bytes);
}

export class SecretBox {
  private constructor(private readonly current: Key, private readonly older: readonly Key[]) {}

  /** Opens (or makes, 0600) the key file of `dataDir`; `secrets.key.old`, if present, still opens values. */
  static open(dataDir: string): SecretBox {
    const file = path.join(dataDir, 'secrets.key');
    if (!fs.existsSync(file)) {
      // 'wx': never overwrite a key another process just made; 0o600 whatever the umask.
      fs.writeFileSync(file, `${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    }
    fs.chmodSync(file, 0o600);
    const old = path.join(dataDir, 'secrets.key.old');
    return new SecretBox(readKey(file), fs.existsSync(old) ? [readKey(old)] : []);
  }

  static isSealed(v: unknown): v is string {
    return typeof v === 'string' && v.startsWith(PREFIX);
  }

  /** True when `v` is sealed with the current key (nothing to re-seal). */
  isCurrent(v: string): boolean {
    return v.startsWith(`${PREFIX}${this.current.id}:`);
  }

  seal(plain: string): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.current.bytes, iv);
    const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `${PREFIX}${this.current.id}:${[iv, c.getAuthTag(), data].map((b) => b.toString('base64url')).join(':')}`;
  }

  unseal(sealed: string): string {
    const [id, iv, tag, data] = sealed.slice(PREFIX.length).split(':');
    const key = [this.current, ...this.older].find((k) => k.id === id);
    if (!key || iv === undefined || tag === undefined || data === undefined) throw new Error(`secret sealed with an unknown key (${String(id).slice(0, 8)})`);
    const d = crypto.createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8');
  }
}
