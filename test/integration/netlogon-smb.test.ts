/**
 * NetlogonWriter uploading the rendered emitter scripts to a real smbd share on 127.0.0.1
 * (test/helpers/smbd.ts), through smbclient with a 0600 authentication file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import { emitterFiles } from '../../src/emitter/emitter-scripts';
import { NetlogonWriter } from '../../src/emitter/netlogon-writer';
import { SmbNetlogonDestination } from '../../src/emitter/smb-destination';
import { loadNetlogonTemplates } from '../../src/emitter/netlogon-template';
import { type CommandRunner, execFileRunner, parseSambaCredentials, SambaCommandError } from '../../src/samba/samba-command';
import { type RunningSmbd, SMB_PASSWORD, SMB_USER, SMB_WORKGROUP, smbdInstalled, startSmbd } from '../helpers/smbd';

const d = smbdInstalled() && process.getuid?.() === 0 ? describe : describe.skip;
const PC = Hostname.parse('pc-info-07');

d('NetlogonWriter on a real smbd share', () => {
  let smbd: RunningSmbd;
  let tempRoot: string;
  const argvs: string[][] = [];
  const counting: CommandRunner = (file, args, options) => {
    argvs.push([file, ...args]);
    return execFileRunner(file, args, options);
  };
  const files = emitterFiles(loadNetlogonTemplates(path.resolve(__dirname, '..', '..')), {
    baseUrl: 'http://10.77.0.1:8080/modules/clonage', actionId: 'a_integration', machine: PC,
    ackToken: 'A'.repeat(43), postCloneToken: 'P'.repeat(43),
  });
  const writer = (password: string) => new NetlogonWriter(new SmbNetlogonDestination({
    server: '127.0.0.1', share: 'netlogon', baseDir: 'machine', port: smbd.port, configFile: smbd.configFile,
    credentials: parseSambaCredentials({ username: SMB_USER, password, domain: SMB_WORKGROUP }), runner: counting, tempRoot,
  }));
  const machineDir = () => path.join(smbd.shareDir, 'machine', PC.value);

  beforeAll(async () => {
    smbd = await startSmbd();
    tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-netlogon-int-'));
  });
  afterAll(async () => {
    await smbd?.stop();
    if (tempRoot) fs.rmSync(tempRoot, { recursive: true, force: true });
  });

  it('uploads the scripts byte-exact, then remove() deletes them and the folder', async () => {
    const written = await writer(SMB_PASSWORD).write(PC, files);
    expect(written.location).toBe(`//127.0.0.1/netlogon/machine/${PC.value}`);
    expect(fs.readdirSync(machineDir()).sort()).toEqual(['clonage-emitter.cmd', 'clonage-postclone.ps1']);
    for (const f of files) expect(fs.readFileSync(path.join(machineDir(), f.name))).toEqual(Buffer.from(f.content, 'utf8'));
    expect(fs.readFileSync(path.join(machineDir(), 'clonage-emitter.cmd'), 'latin1')).toContain('\r\n');
    // The password went through the auth file only, and the private temp dir is gone.
    expect(argvs.flat().join(' ')).not.toContain(SMB_PASSWORD);
    expect(fs.readdirSync(tempRoot)).toEqual([]);

    // A second write over existing files (mkdir collisions are fine) still succeeds.
    await writer(SMB_PASSWORD).write(PC, files);

    await writer(SMB_PASSWORD).remove(PC, files.map((f) => f.name));
    expect(fs.existsSync(machineDir())).toBe(false);
    expect(fs.existsSync(path.join(smbd.shareDir, 'machine'))).toBe(true);
    // Removing again (a cancel after a timeout) is harmless.
    await writer(SMB_PASSWORD).remove(PC, files.map((f) => f.name));
  });

  it('a wrong password is a typed auth error and nothing is written', async () => {
    const before = fs.readdirSync(smbd.shareDir, { recursive: true });
    const err = await writer('not-the-password').write(PC, files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SambaCommandError);
    expect((err as SambaCommandError).kind).toBe('auth');
    expect(fs.readdirSync(smbd.shareDir, { recursive: true })).toEqual(before);
    expect(fs.existsSync(machineDir())).toBe(false);
    expect(fs.readdirSync(tempRoot)).toEqual([]);
  });

  it('a file name with ../ is refused before any process runs', async () => {
    const calls = argvs.length;
    await expect(writer(SMB_PASSWORD).write(PC, [{ name: '../clonage-emitter.cmd', content: 'x' }])).rejects.toBeInstanceOf(InputError);
    await expect(writer(SMB_PASSWORD).remove(PC, ['../../smb.conf'])).rejects.toBeInstanceOf(InputError);
    expect(argvs.length).toBe(calls);
    expect(fs.existsSync(path.join(smbd.shareDir, 'clonage-emitter.cmd'))).toBe(false);
  });

  it('a missing share is "not-found"', async () => {
    const w = new NetlogonWriter(new SmbNetlogonDestination({
      server: '127.0.0.1', share: 'nosuchshare', baseDir: 'machine', port: smbd.port, configFile: smbd.configFile,
      credentials: parseSambaCredentials({ username: SMB_USER, password: SMB_PASSWORD }), tempRoot,
    }));
    await expect(w.write(PC, files)).rejects.toMatchObject({ kind: 'not-found' });
  });
});
