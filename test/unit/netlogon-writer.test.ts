import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConflictError, InputError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import { LocalNetlogonDestination, NetlogonWriter, parseNetlogonFileName } from '../../src/emitter/netlogon-writer';
import { SmbNetlogonDestination } from '../../src/emitter/smb-destination';
import { type CommandRunner, parseSambaCredentials, SambaCommandError } from '../../src/samba/samba-command';

const PC = Hostname.parse('pc07');
const CREDS = parseSambaCredentials({ username: 'adminse3', password: 'p4ss;word"x', domain: 'SAMBAEDU' });
const FILES = [{ name: 'clonage-emitter.cmd', content: 'a\r\nb\r\n' }, { name: 'clonage-postclone.ps1', content: Buffer.from([0x23, 0x0d, 0x0a]) }];

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-netlogon-unit-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('file names', () => {
  it.each(['../x.cmd', 'a/b.cmd', 'a\\b.cmd', '..', '.x', 'a b.cmd', 'a;b.cmd', 'a"b', "a'b", 'a*.cmd', 'a.b.cmd', '', 'x'.repeat(70)])(
    'refuses %p', (n) => expect(() => parseNetlogonFileName(n)).toThrow(InputError));
  it.each(['clonage-emitter.cmd', 'startup.cmd', 'scripts.ini', 'README'])('accepts %p', (n) => expect(parseNetlogonFileName(n)).toBe(n));
});

describe('NetlogonWriter on a local directory', () => {
  it('writes byte-exact files, 0640 in a 0750 machine folder, and removes them and the folder', async () => {
    const writer = new NetlogonWriter(new LocalNetlogonDestination({ root: tmp }));
    const written = await writer.write(PC, FILES);
    expect(written).toEqual({ machine: 'pc07', names: ['clonage-emitter.cmd', 'clonage-postclone.ps1'], location: path.join(tmp, 'pc07') });
    const dir = path.join(tmp, 'pc07');
    expect(fs.readFileSync(path.join(dir, 'clonage-emitter.cmd'), 'utf8')).toBe('a\r\nb\r\n');
    expect(fs.readFileSync(path.join(dir, 'clonage-postclone.ps1'))).toEqual(Buffer.from([0x23, 0x0d, 0x0a]));
    expect(fs.statSync(path.join(dir, 'clonage-emitter.cmd')).mode & 0o777).toBe(0o640);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o750);
    expect(fs.readdirSync(dir).sort()).toEqual(['clonage-emitter.cmd', 'clonage-postclone.ps1']);
    // Rewriting replaces (a new action for the same machine).
    await writer.write(PC, [{ name: 'clonage-emitter.cmd', content: 'new' }]);
    expect(fs.readFileSync(path.join(dir, 'clonage-emitter.cmd'), 'utf8')).toBe('new');
    await writer.remove(PC, ['clonage-emitter.cmd', 'clonage-postclone.ps1']);
    expect(fs.existsSync(dir)).toBe(false);
    await writer.remove(PC, ['clonage-emitter.cmd']); // twice is fine
  });

  it('keeps the folder when other files are in it', async () => {
    const writer = new NetlogonWriter(new LocalNetlogonDestination({ root: tmp }));
    await writer.write(PC, FILES);
    fs.writeFileSync(path.join(tmp, 'pc07', 'other.txt'), 'x');
    await writer.remove(PC, ['clonage-emitter.cmd', 'clonage-postclone.ps1']);
    expect(fs.readdirSync(path.join(tmp, 'pc07'))).toEqual(['other.txt']);
  });

  it('refuses a machine folder that is a symlink (planted to redirect the writes)', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-elsewhere-'));
    try {
      fs.symlinkSync(elsewhere, path.join(tmp, 'pc07'));
      const writer = new NetlogonWriter(new LocalNetlogonDestination({ root: tmp }));
      await expect(writer.write(PC, FILES)).rejects.toBeInstanceOf(ConflictError);
      expect(fs.readdirSync(elsewhere)).toEqual([]);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses bad names and duplicates before touching the disk', async () => {
    const writer = new NetlogonWriter(new LocalNetlogonDestination({ root: tmp }));
    await expect(writer.write(PC, [{ name: '../evil.cmd', content: 'x' }])).rejects.toBeInstanceOf(InputError);
    await expect(writer.write(PC, [{ name: 'a.cmd', content: 'x' }, { name: 'A.cmd', content: 'y' }])).rejects.toThrow(/twice/);
    await expect(writer.write(PC, [])).rejects.toBeInstanceOf(InputError);
    await expect(writer.remove(PC, ['../x'])).rejects.toBeInstanceOf(InputError);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(() => new LocalNetlogonDestination({ root: 'relative/dir' })).toThrow(InputError);
  });
});

interface SmbCall { file: string; args: readonly string[]; authContent: string; localFiles: Record<string, string> }

function smbRunner(calls: SmbCall[], answer: (c: SmbCall, i: number) => { stdout?: string; stderr?: string; fail?: number }): CommandRunner {
  return async (file, args) => {
    const auth = args[args.indexOf('-A') + 1];
    const dir = path.dirname(auth);
    const localFiles: Record<string, string> = {};
    for (const f of fs.readdirSync(dir)) if (f !== 'auth') localFiles[f] = fs.readFileSync(path.join(dir, f), 'latin1');
    const call = { file, args, authContent: fs.readFileSync(auth, 'utf8'), localFiles };
    calls.push(call);
    const a = answer(call, calls.length - 1);
    if (a.fail) throw Object.assign(new Error('Command failed'), { code: a.fail, stdout: a.stdout ?? '', stderr: a.stderr ?? '' });
    return { stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
  };
}

const PUT_OK = 'NT_STATUS_OBJECT_NAME_COLLISION making remote directory \\machine\nputting file clonage-emitter.cmd as \\machine\\pc07\\clonage-emitter.cmd (1 kb/s)\n'
  + 'putting file clonage-postclone.ps1 as \\machine\\pc07\\clonage-postclone.ps1 (1 kb/s)\n';

describe('NetlogonWriter on an SMB share (recorded smbclient)', () => {
  const dest = (calls: SmbCall[], answer: Parameters<typeof smbRunner>[1]) => new SmbNetlogonDestination({
    server: '10.77.0.1', share: 'netlogon', baseDir: 'machine', credentials: CREDS, port: 4450, runner: smbRunner(calls, answer), tempRoot: tmp,
  });

  it('runs smbclient with an argument array, -A, and validated names only in -c', async () => {
    const calls: SmbCall[] = [];
    await new NetlogonWriter(dest(calls, () => ({ stderr: PUT_OK }))).write(PC, FILES);
    expect(calls).toHaveLength(1);
    const [c] = calls;
    const auth = c.args[2];
    const local = path.dirname(auth);
    expect(c.file).toBe('smbclient');
    expect(c.args).toEqual(['//10.77.0.1/netlogon', '-A', auth, '-p', '4450', '-c',
      `mkdir machine; mkdir machine/pc07; lcd ${local}; put clonage-emitter.cmd machine/pc07/clonage-emitter.cmd; `
      + 'put clonage-postclone.ps1 machine/pc07/clonage-postclone.ps1']);
    expect(c.args.join(' ')).not.toContain('p4ss');
    expect(c.authContent).toBe('username = adminse3\npassword = p4ss;word"x\ndomain = SAMBAEDU\n');
    expect(c.localFiles).toEqual({ 'clonage-emitter.cmd': 'a\r\nb\r\n', 'clonage-postclone.ps1': '#\r\n' });
    expect(fs.readdirSync(tmp)).toEqual([]); // private dir with auth file and copies is gone
  });

  it('a wrong password is a typed auth error', async () => {
    const calls: SmbCall[] = [];
    const w = new NetlogonWriter(dest(calls, () => ({ fail: 1, stderr: 'session setup failed: NT_STATUS_LOGON_FAILURE' })));
    await expect(w.write(PC, FILES)).rejects.toMatchObject({ kind: 'auth' });
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('a put that fails mid-way is an error, and what landed is taken back', async () => {
    const calls: SmbCall[] = [];
    const w = new NetlogonWriter(dest(calls, (_, i) => (i === 0
      ? { stderr: 'putting file clonage-emitter.cmd as \\machine\\pc07\\clonage-emitter.cmd (1 kb/s)\nNT_STATUS_DISK_FULL opening remote file \\machine\\pc07\\clonage-postclone.ps1', fail: 1 }
      : {})));
    const err = await w.write(PC, FILES).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SambaCommandError);
    expect((err as SambaCommandError).message).toContain('NT_STATUS_DISK_FULL');
    expect(calls[1].args[calls[1].args.length - 1]).toBe('del machine/pc07/clonage-emitter.cmd; rmdir machine/pc07');
  });

  it('exit 0 without a confirmation per file is not a success (smbclient reports the last command only)', async () => {
    const calls: SmbCall[] = [];
    const w = new NetlogonWriter(dest(calls, () => ({ stderr: 'putting file clonage-postclone.ps1 as \\machine\\pc07\\clonage-postclone.ps1\n' })));
    await expect(w.write(PC, FILES)).rejects.toBeInstanceOf(SambaCommandError);
  });

  it('remove deletes the files then the folder, tolerating what is already gone', async () => {
    const calls: SmbCall[] = [];
    const w = new NetlogonWriter(dest(calls, () => ({ fail: 1, stderr: 'NT_STATUS_NO_SUCH_FILE listing \\machine\\pc07\\clonage-emitter.cmd\nNT_STATUS_OBJECT_NAME_NOT_FOUND removing remote directory file \\machine\\pc07' })));
    await w.remove(PC, ['clonage-emitter.cmd', 'clonage-postclone.ps1']);
    expect(calls[0].args[calls[0].args.length - 1]).toBe('del machine/pc07/clonage-emitter.cmd; del machine/pc07/clonage-postclone.ps1; rmdir machine/pc07');
    const denied = new NetlogonWriter(dest([], () => ({ stderr: 'NT_STATUS_ACCESS_DENIED deleting remote file \\machine\\pc07\\clonage-emitter.cmd' })));
    await expect(denied.remove(PC, ['clonage-emitter.cmd'])).rejects.toMatchObject({ kind: 'denied' });
  });

  it('refuses unsafe names before any process runs', async () => {
    const calls: SmbCall[] = [];
    const w = new NetlogonWriter(dest(calls, () => ({ stderr: PUT_OK })));
    await expect(w.write(PC, [{ name: 'x; rm -r machine', content: '' }])).rejects.toBeInstanceOf(InputError);
    await expect(w.write(PC, [{ name: '../../x.cmd', content: '' }])).rejects.toBeInstanceOf(InputError);
    expect(calls).toHaveLength(0);
    expect(() => new SmbNetlogonDestination({ server: '10.77.0.1', share: 'netlogon', baseDir: '../x', credentials: CREDS })).toThrow(InputError);
    expect(() => new SmbNetlogonDestination({ server: 'a b', share: 'netlogon', baseDir: '', credentials: CREDS })).toThrow(InputError);
    expect(() => new SmbNetlogonDestination({ server: 'se3', share: 'net;logon', baseDir: '', credentials: CREDS })).toThrow(InputError);
  });

  it('accepts ADMIN$ and a deep folder, as SE3 wrote into the PC\'s local policy', () => {
    const d = new SmbNetlogonDestination({ server: 'pc07', share: 'ADMIN$', baseDir: 'System32\\GroupPolicy\\Machine\\Scripts', credentials: CREDS });
    expect(d.describe(PC)).toBe('//pc07/ADMIN$/System32/GroupPolicy/Machine/Scripts/pc07');
  });
});
