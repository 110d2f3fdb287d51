/**
 * The real agent against the module's real agent API (src/http/pc/agent-routes.ts behind the actions
 * service, fake host as in agent-api.test.ts), with real udpcast between namespaces: the wizard's
 * POST creates a clone, tick() arms the plans, and three agents booted "by hand" with the armed
 * job ids and tokens clone the emitter's disk. Proves the shell agent and the server agree on
 * docs/agent-protocol.md byte for byte (job lines, forms, text bodies, answers).
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { Mac } from '../../src/common/domain/mac';
import { AGENT, type AgentHarness, BUSYBOX, startAgentHarness } from '../helpers/agent-harness';
import { netnsUnavailableReason, spawnInNs, waitForExit } from '../helpers/netns';

const MAC = { pc01: '02:00:00:00:00:01', pc02: '02:00:00:00:00:02', pc03: '02:00:00:00:00:03' } as const;

// Only root and `ip netns` are reasons to skip; a missing udpcast must fail (an install step is missing).
const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`agent against the real API SKIPPED: ${skipReason}`);
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

(skipReason ? describe.skip : describe)('real agent + real module agent API + udpcast', () => {
  let h: AgentHarness;
  let host: AgentHarness['host'];
  let parts: AgentHarness['parts'];
  let bootPlans: AgentHarness['parts']['bootPlans'];
  let net: AgentHarness['net'];
  let base: string;
  let tmp: string;
  let serverUrl: string;

  beforeAll(async () => {
    // The server (actions + image store) reachable from three PC namespaces: helpers/agent-harness.ts.
    h = await startAgentHarness('clonage-agent-api-', { hosts: 3, heartbeatMs: 100 });
    ({ host, parts, net, base, tmp, serverUrl } = h);
    bootPlans = parts.bootPlans;
  });

  afterAll(async () => {
    await h?.stop();
  });

  test('wizard clone, armed plans, three agents: disks identical, targets succeeded', async () => {
    const fields: [string, string][] = [['type', 'clone'], ['parc', 'salle1'], ['emitter', 'pc01'], ['machine', 'pc02'], ['machine', 'pc03'],
      ['disk', 'sda'], ['compression', 'lzop'], ['min_wait', '0'], ['max_wait', '1'], ['start_timeout', '2'], ['auto_reboot', 'success'], ['confirm', '1']];
    const res = await fetch(`${base}/modules/clonage/actions`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-user': 'admin' },
    });
    expect(res.status).toBe(303);
    await parts.scheduler.tick(host.clock.now());

    const disks: Record<string, string> = {};
    const runs = (['pc01', 'pc02', 'pc03'] as const).map((name, i) => {
      const plan = bootPlans.get(Mac.parse(MAC[name]));
      if (plan?.kind !== 'job') throw new Error(`${name}: no armed job`);
      const dir = path.join(tmp, name);
      fs.mkdirSync(dir);
      disks[name] = path.join(dir, 'sda');
      fs.writeFileSync(disks[name], i === 1 ? Buffer.alloc(16 << 20) : randomBytes(16 << 20));
      const work = path.join(tmp, `${name}-work`);
      fs.mkdirSync(work);
      fs.writeFileSync(path.join(work, 'cmdline'), `BOOT_IMAGE=vmlinuz clonage.server=${serverUrl} clonage.job=${plan.jobId} clonage.token=${plan.token} console=ttyS0,115200 console=tty0\n`);
      return { name, work, ns: net.hosts[i].ns, env: {
        PATH: `${tmp}/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        CLONAGE_CMDLINE: path.join(work, 'cmdline'), CLONAGE_DEV_DIR: dir, CLONAGE_WORK_DIR: path.join(work, 'agent'),
        CLONAGE_REBOOT_CMD: `touch ${work}/reboot-requested`, CLONAGE_POWEROFF_CMD: `touch ${work}/poweroff-requested`, CLONAGE_IFACE: 'eth0',
      } };
    });
    const source = sha256(disks.pc01);
    // Receivers first, as PCs that boot faster than the emitter would.
    const started = [runs[1], runs[2], runs[0]].map((r) => ({ r, done: waitForExit(spawnInNs(net, r.ns, BUSYBOX, ['sh', AGENT], { env: r.env }), 120000) }));
    const results = await Promise.all(started.map((s) => s.done));
    results.forEach((res, i) => expect({ who: started[i].r.name, code: res.code, stderr: res.code === 0 ? '' : res.stderr.slice(-2000) }).toEqual({ who: started[i].r.name, code: 0, stderr: '' }));

    expect(sha256(disks.pc02)).toBe(source);
    expect(sha256(disks.pc03)).toBe(source);
    for (const r of runs) expect(fs.existsSync(path.join(r.work, 'reboot-requested'))).toBe(true); // auto_reboot=success
    const targets = host.db.prepare('SELECT name, role, state, exit_code, percent, log FROM clonage_targets ORDER BY name').all() as Array<Record<string, unknown>>;
    expect(targets.map((t) => [t.name, t.role, t.state, t.exit_code])).toEqual([
      ['pc01', 'sender', 'succeeded', 0], ['pc02', 'receiver', 'succeeded', 0], ['pc03', 'receiver', 'succeeded', 0],
    ]);
    for (const t of targets) {
      expect(t.percent).toBe(100);
      expect(String(t.log)).toMatch(/Transfer complete/);
    }
    // The plans were consumed by the GETs: a second boot of these PCs goes to the local disk.
    for (const mac of Object.values(MAC)) expect(bootPlans.get(Mac.parse(mac))?.kind).not.toBe('job');
  }, 150000);
});
