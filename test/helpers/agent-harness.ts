/**
 * The real module API (fake host, actions, image store) reachable from a network namespace, and
 * the real shell agent run in it as a host process: what backup-restore.test.ts and
 * backup-partition.test.ts share. The agent reaches the module through a TCP→Unix relay in the
 * bridge namespace (helpers/netns.ts); runJob posts the wizard form, ticks, reads the armed plan
 * and runs the agent with a plain-file cmdline and a harmless reboot command.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Mac } from '../../src/common/domain/mac';
import { type ModuleParts, register, type RunningModule } from '../../src/index';
import { RecordingWaker } from './actions-fixtures';
import { NOTHING_BLOCKS } from './fakes';
import { createFakeHost, type FakeHost, fakeHostApp, labOn, listen } from './fake-host';
import { createTestNet, destroyTestNet, listenUnixWithPeer, type PeerServer, relayTcpToUnix, spawnInNs, type TestNet, waitForExit } from './netns';

const ROOT = path.resolve(__dirname, '../..');
export const AGENT = path.join(ROOT, 'pxe/agent/clonage-agent.sh');
export const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p)) ?? 'busybox';

export interface AgentRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly target: Record<string, unknown>;
  readonly jobId: string;
}

export interface AgentHarness {
  readonly host: FakeHost;
  readonly module: RunningModule;
  readonly parts: ModuleParts;
  readonly base: string;
  readonly net: TestNet;
  readonly tmp: string;
  readonly serverUrl: string;
  /** Wizard POST (as admin) → tick → the armed plan → the agent in the first host namespace. */
  runJob(type: 'backup' | 'restore' | 'report', params: Record<string, string>, devDir: string, opts?: RunOptions): Promise<AgentRun>;
  /** Called with each request the agents make, before the module sees it (fault injection). */
  onAgentRequest(hook: (req: http.IncomingMessage) => void): void;
  /**
   * The server away for `ms`: the agents' socket closes with every connection on it (a request
   * in flight is cut), new connections are refused, then it listens again. The module's state
   * stays, as after a restart on the same data.
   */
  serverAway(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RunOptions {
  readonly machine?: string;
  readonly mac?: string;
  /** More agent environment (CLONAGE_RETRY_SECONDS …). */
  readonly env?: Record<string, string>;
}

export async function startAgentHarness(prefix: string, opts: { hosts?: number; reserveBytes?: number; heartbeatMs?: number } = {}): Promise<AgentHarness> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(tmp, 'bin'));
  execFileSync(BUSYBOX, ['--install', '-s', path.join(tmp, 'bin')]);
  const net = createTestNet(opts.hosts ?? 1);
  // pc01… are reserved on the namespaces' addresses: agent calls are bound to them (agent.addressCheck).
  const host = createFakeHost({ lab: labOn(net.hosts.map((h) => h.ip)) });
  // The module through its composition root; the waker records (no Wake-on-LAN packet leaves).
  const module = await register(host, {
    waker: new RecordingWaker(), blocker: NOTHING_BLOCKS, tickMs: 0, heartbeatMs: opts.heartbeatMs, imageStore: { reserveBytes: opts.reserveBytes ?? 0 },
  });
  const { parts } = module;
  const app = fakeHostApp(host);
  const loopback = await listen(app);
  const sock = path.join(tmp, 'module.sock');
  const hooks: Array<(req: http.IncomingMessage) => void> = [];
  const withHooks: http.RequestListener = (req, res) => {
    for (const hook of hooks) hook(req);
    app(req, res);
  };
  let sockServer: PeerServer = await listenUnixWithPeer(withHooks, sock);
  const servers = [loopback.server];
  await relayTcpToUnix(net, net.bridgeNs, net.bridgeIp, 8080, sock, { peer: true });
  const serverUrl = `http://${net.bridgeIp}:8080/modules/clonage`;
  const base = loopback.base;

  async function serverAway(ms: number): Promise<void> {
    const away = sockServer;
    away.closeAllConnections();
    away.close(() => undefined);
    await new Promise((r) => setTimeout(r, ms));
    fs.rmSync(sock, { force: true });
    sockServer = await listenUnixWithPeer(withHooks, sock);
  }

  async function runJob(type: 'backup' | 'restore' | 'report', params: Record<string, string>, devDir: string, o: RunOptions = {}): Promise<AgentRun> {
    const fields = new URLSearchParams([['type', type], ['parc', 'salle1'], ['machine', o.machine ?? 'pc01'], ['auto_reboot', 'never'], ['confirm', '1'], ...Object.entries(params)]);
    const post = () => fetch(`${base}/modules/clonage/actions`, {
      method: 'POST', redirect: 'manual', body: fields.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-user': 'admin' },
    });
    // undici may reuse a keep-alive socket the server is closing at that moment (ECONNRESET
    // before any byte of the request was read): the request never reached the wizard, send it again.
    const res = await post().catch((e: { cause?: { code?: string } }) => {
      if (e.cause?.code === 'ECONNRESET') return post();
      throw e;
    });
    if (res.status !== 303) throw new Error(`wizard answered ${res.status}: ${(await res.text()).slice(0, 2000)}`);
    await parts.scheduler.tick(host.clock.now());
    const plan = parts.bootPlans.get(Mac.parse(o.mac ?? '02:00:00:00:00:01'));
    if (plan?.kind !== 'job') throw new Error('no armed job');
    const work = fs.mkdtempSync(path.join(tmp, `${type}-`));
    fs.writeFileSync(path.join(work, 'cmdline'), `clonage.server=${serverUrl} clonage.job=${plan.jobId} clonage.token=${plan.token} console=ttyS0\n`);
    const env = {
      PATH: `${tmp}/bin:/usr/sbin:/usr/bin:/sbin:/bin`, CLONAGE_CMDLINE: path.join(work, 'cmdline'), CLONAGE_DEV_DIR: devDir,
      CLONAGE_WORK_DIR: path.join(work, 'agent'), CLONAGE_REBOOT_CMD: `touch ${work}/reboot`, CLONAGE_POWEROFF_CMD: `touch ${work}/poweroff`,
      CLONAGE_IFACE: 'eth0', CLONAGE_CHUNK_MB: '1', ...o.env,
    };
    const run = await waitForExit(spawnInNs(net, net.hosts[0].ns, BUSYBOX, ['sh', AGENT], { env }), 240000);
    const target = host.db.prepare('SELECT state, exit_code AS exitCode, percent, message, log FROM clonage_targets WHERE id = ?').get(plan.jobId) as Record<string, unknown>;
    return { code: run.code, stderr: run.stderr, target, jobId: plan.jobId };
  }

  async function stop(): Promise<void> {
    destroyTestNet(net);
    await module.stop();
    for (const s of [...servers, sockServer]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    host.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  return { host, module, parts, base, net, tmp, serverUrl, runJob, onAgentRequest: (hook) => hooks.push(hook), serverAway, stop };
}

/** A run that succeeded; on failure the agent's stderr and log are in the diff. */
export function okOf(r: AgentRun): { code: number | null; state: unknown; percent: unknown; tail: string } {
  return { code: r.code, state: r.target.state, percent: r.target.percent, tail: r.code === 0 ? '' : `${r.stderr.slice(-3000)}\n${r.target.log}` };
}
export const OK = { code: 0, state: 'succeeded', percent: 100, tail: '' };
