/**
 * RpcReboot against a real Samba server: `net rpc shutdown` reaches smbd on 127.0.0.1 (winreg /
 * InitShutdown RPC), whose `shutdown script` only logs its arguments (test/helpers/smbd.ts).
 * Proves the `-A` authentication file works for `net` and that the password never is in argv.
 */
import { Ipv4 } from '../../src/common/domain/ipv4';
import { RpcReboot } from '../../src/wake/rpc-reboot';
import { type CommandRunner, execFileRunner, parseSambaCredentials, SambaCommandError } from '../../src/samba/samba-command';
import { type RunningSmbd, SMB_PASSWORD, SMB_USER, SMB_WORKGROUP, smbdInstalled, startSmbd } from '../helpers/smbd';

const d = smbdInstalled() && process.getuid?.() === 0 ? describe : describe.skip;

d('RpcReboot with net against a real smbd', () => {
  let smbd: RunningSmbd;
  const argvs: string[][] = [];
  const recording: CommandRunner = (file, args, options) => {
    argvs.push([file, ...args]);
    return execFileRunner(file, args, options);
  };
  const rebooter = (password: string, port?: number) => new RpcReboot({
    credentials: parseSambaCredentials({ username: SMB_USER, password, domain: SMB_WORKGROUP }),
    port: port ?? smbd.port, configFile: smbd.configFile, runner: recording, timeoutMs: 20000,
  });

  beforeAll(async () => {
    smbd = await startSmbd();
  });
  afterAll(async () => {
    await smbd?.stop();
  });

  it('asks the server to reboot, with delay, force and comment', async () => {
    await rebooter(SMB_PASSWORD).reboot(Ipv4.parse('127.0.0.1'), { delaySeconds: 15, comment: 'Clonage test' });
    const requests = smbd.shutdownRequests();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toBe('-r -f Clonage_test');
    const argv = argvs[argvs.length - 1];
    expect(argv.join(' ')).not.toContain(SMB_PASSWORD);
    expect(argv).toContain('-A');
  });

  it('a wrong password is a typed auth error and nothing is requested', async () => {
    const before = smbd.shutdownRequests().length;
    const err = await rebooter('wrong-password').reboot(Ipv4.parse('127.0.0.1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SambaCommandError);
    expect((err as SambaCommandError).kind).toBe('auth');
    expect((err as SambaCommandError).message).not.toContain('wrong-password');
    expect(smbd.shutdownRequests()).toHaveLength(before);
  });

  it('a machine that does not answer is "unreachable"', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const err = await rebooter(SMB_PASSWORD, 1).reboot(Ipv4.parse('127.0.0.1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SambaCommandError);
    expect((err as SambaCommandError).kind).toBe('unreachable');
  });
});
