import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/common/domain/errors';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { RpcReboot, rpcShutdownArgs, parseRebootComment } from '../../src/wake/rpc-reboot';
import {
  authFileContent, type CommandRunner, parseSambaCredentials, SambaCommandError, summarizeOutput, toSambaError, withAuthFile,
} from '../../src/samba/samba-command';

const PASSWORD = 'S3cret pass;$(reboot)';
const CREDS = parseSambaCredentials({ username: 'adminse3', password: PASSWORD, domain: 'SAMBAEDU' });
const IP = Ipv4.parse('10.77.0.42');

interface Call {
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  authFile: string;
  authMode: number;
  authDirMode: number;
  authContent: string;
}

/** Records each call, including what the auth file looked like while the program "ran". */
function recordingRunner(calls: Call[], outcome: (call: Call) => void = () => undefined): CommandRunner {
  return async (file, args, options) => {
    const authFile = args[args.indexOf('-A') + 1];
    const call: Call = {
      file, args, env: options.env, timeoutMs: options.timeoutMs, authFile,
      authMode: fs.statSync(authFile).mode & 0o777,
      authDirMode: fs.statSync(path.dirname(authFile)).mode & 0o777,
      authContent: fs.readFileSync(authFile, 'utf8'),
    };
    calls.push(call);
    outcome(call);
    return { stdout: 'Shutdown of remote machine succeeded\n', stderr: '' };
  };
}

function failure(stderr: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error('Command failed'), { code: 255, stderr, stdout: '', ...extra });
}

describe('rpcShutdownArgs', () => {
  it('builds the exact argv, with -A and no password', () => {
    expect(rpcShutdownArgs(IP, '/tmp/x/auth', { delaySeconds: 15, comment: 'Clonage : redémarrage' })).toEqual([
      'rpc', 'shutdown', '-r', '-f', '-t', '15', '-C', 'Clonage : redémarrage', '-I', '10.77.0.42', '-A', '/tmp/x/auth',
    ]);
    expect(rpcShutdownArgs(IP, '/a', { force: false }, { port: 4450, configFile: '/etc/samba/smb.conf' })).toEqual([
      'rpc', 'shutdown', '-r', '-t', '30', '-C', 'Clonage: redemarrage pour une operation de clonage', '-I', '10.77.0.42',
      '-p', '4450', '-s', '/etc/samba/smb.conf', '-A', '/a',
    ]);
  });

  it.each(['', 'a"b', 'x`id`', 'line\nbreak', '$(reboot)', 'a&b', 'x'.repeat(201)])('refuses comment %p', (c) => {
    expect(() => parseRebootComment(c)).toThrow(InputError);
  });

  it.each([-1, 601, 1.5, NaN])('refuses delay %p', (d) => {
    expect(() => rpcShutdownArgs(IP, '/a', { delaySeconds: d })).toThrow(InputError);
  });
});

describe('Samba credentials', () => {
  it('writes the authentication-file format', () => {
    expect(authFileContent(CREDS)).toBe(`username = adminse3\npassword = ${PASSWORD}\ndomain = SAMBAEDU\n`);
    expect(authFileContent(parseSambaCredentials({ username: 'u', password: 'p' }))).toBe('username = u\npassword = p\n');
  });

  it.each([
    [{ username: 'a b', password: 'p' }],
    [{ username: 'adminse3%x', password: 'p' }],
    [{ username: 'a', password: '' }],
    [{ username: 'a', password: 'new\nline' }],
    [{ username: 'a', password: ' leading' }],
    [{ username: 'a', password: 'x'.repeat(201) }],
    [{ username: 'a', password: 'p', domain: 'bad domain' }],
  ])('refuses %p', (c) => {
    expect(() => parseSambaCredentials(c)).toThrow(InputError);
  });

  it('removes the private directory even when the callback throws', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-authtest-'));
    let seen = '';
    await expect(withAuthFile(CREDS, async (file) => {
      seen = file;
      throw new Error('boom');
    }, root)).rejects.toThrow('boom');
    expect(fs.existsSync(seen)).toBe(false);
    expect(fs.readdirSync(root)).toEqual([]);
    fs.rmSync(root, { recursive: true });
  });
});

describe('RpcReboot', () => {
  it('runs net with the argv, a 0600 auth file in a 0700 dir, a clean env, and removes the file', async () => {
    const calls: Call[] = [];
    const r = new RpcReboot({ credentials: CREDS, runner: recordingRunner(calls), netPath: '/usr/bin/net', timeoutMs: 5000 });
    await r.reboot(IP, { delaySeconds: 10, comment: 'Clonage' });
    expect(calls).toHaveLength(1);
    const c = calls[0];
    expect(c.file).toBe('/usr/bin/net');
    expect(c.args).toEqual(['rpc', 'shutdown', '-r', '-f', '-t', '10', '-C', 'Clonage', '-I', '10.77.0.42', '-A', c.authFile]);
    expect(c.args.join(' ')).not.toContain('S3cret');
    expect(c.args).not.toContain('-U');
    expect(JSON.stringify(c.env)).not.toContain('S3cret');
    expect(Object.keys(c.env).filter((k) => /^(USER|PASSWD|PASSWD_FD|PASSWD_FILE)$/.test(k))).toEqual([]);
    expect(c.timeoutMs).toBe(5000);
    expect(c.authMode).toBe(0o600);
    expect(c.authDirMode).toBe(0o700);
    expect(c.authContent).toBe(authFileContent(CREDS));
    expect(fs.existsSync(path.dirname(c.authFile))).toBe(false);
  });

  it.each([
    ['Could not connect to server 10.77.0.42\nConnection failed: NT_STATUS_IO_TIMEOUT', 'unreachable'],
    ['Could not connect to server 10.77.0.42\nConnection failed: NT_STATUS_CONNECTION_REFUSED', 'unreachable'],
    ['session setup failed: NT_STATUS_LOGON_FAILURE', 'auth'],
    ['Shutdown of remote machine failed\nresult was: WERR_ACCESS_DENIED', 'denied'],
    ['something odd', 'failed'],
  ])('maps "%s" to kind %s and still removes the auth file', async (stderr, kind) => {
    const calls: Call[] = [];
    const r = new RpcReboot({ credentials: CREDS, runner: recordingRunner(calls, () => { throw failure(stderr); }) });
    const err = await r.reboot(IP).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SambaCommandError);
    expect((err as SambaCommandError).kind).toBe(kind);
    expect((err as SambaCommandError).exitCode).toBe(255);
    expect(fs.existsSync(path.dirname(calls[0].authFile))).toBe(false);
  });

  it('maps a timeout kill and a missing program', async () => {
    const killed = new RpcReboot({ credentials: CREDS, runner: async () => { throw failure('', { code: null, killed: true, signal: 'SIGKILL' }); } });
    await expect(killed.reboot(IP)).rejects.toMatchObject({ kind: 'timeout' });
    const missing = new RpcReboot({ credentials: CREDS, runner: async () => { throw Object.assign(new Error('spawn net ENOENT'), { code: 'ENOENT' }); } });
    await expect(missing.reboot(IP)).rejects.toMatchObject({ kind: 'missing-program' });
  });

  it('validates before creating any file or process', async () => {
    const calls: Call[] = [];
    const r = new RpcReboot({ credentials: CREDS, runner: recordingRunner(calls) });
    await expect(r.reboot(IP, { comment: 'x"; reboot' })).rejects.toThrow(InputError);
    expect(calls).toHaveLength(0);
    expect(() => new RpcReboot({ credentials: CREDS, port: 0 })).toThrow(InputError);
    expect(() => new RpcReboot({ credentials: CREDS, configFile: 'relative.conf' })).toThrow(InputError);
  });
});

describe('error summaries', () => {
  it('keeps the status lines and scrubs secrets', () => {
    const s = summarizeOutput(`Copyright Samba\nnoise\nNT_STATUS_LOGON_FAILURE for pw ${PASSWORD}\n`, [PASSWORD]);
    expect(s).toBe('NT_STATUS_LOGON_FAILURE for pw ***');
    const e = toSambaError('net', failure(`failed with ${PASSWORD}`), [PASSWORD]);
    expect(e.message).not.toContain('S3cret');
  });
});
