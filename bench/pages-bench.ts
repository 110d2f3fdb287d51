/**
 * Benchmark (not a test): the wizard's machine table for a parc of 1,000 machines, rendered by the
 * real shell with the module enabled. Measures server time per page (p50/p95 over N requests),
 * page size and the process RSS before/after. Loopback only, bounded request count.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashUserPassword } from '../src/shell/directory/password';
import { defaultConfig } from '../src/shell/config';
import { startShell } from '../src/shell/shell';

// compiled to dist/bench/: the repository root is two levels up
const ROOT = path.resolve(__dirname, '..', '..');

function bigLdif(machines: number): string {
  const base = 'dc=bench,dc=test';
  const out = [`dn: ${base}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: bench\ndc: bench\n`];
  for (const ou of ['People', 'Groups', 'Computers', 'Parcs', 'Rights']) out.push(`dn: ou=${ou},${base}\nobjectClass: organizationalUnit\nou: ${ou}\n`);
  out.push(`dn: uid=admin,ou=People,${base}\nobjectClass: inetOrgPerson\nuid: admin\ncn: admin\nsn: admin\nuserPassword: ${hashUserPassword('bench-pw')}\n`);
  out.push(`dn: cn=system_is_admin,ou=Rights,${base}\nobjectClass: groupOfNames\ncn: system_is_admin\nmember: uid=admin,ou=People,${base}\n`);
  out.push(`dn: cn=parc_can_clone,ou=Rights,${base}\nobjectClass: groupOfNames\ncn: parc_can_clone\nmember: uid=admin,ou=People,${base}\n`);
  const members: string[] = [];
  for (let i = 0; i < machines; i++) {
    const name = `pc${String(i).padStart(4, '0')}`;
    const ip = `10.80.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 1}`;
    const mac = `52:54:00:80:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    out.push(`dn: cn=${name},ou=Computers,${base}\nobjectClass: top\nobjectClass: ipHost\nobjectClass: ieee802Device\nobjectClass: organizationalRole\ncn: ${name}\nipHostNumber: ${ip}\nmacAddress: ${mac}\n`);
    members.push(`member: cn=${name},ou=Computers,${base}`);
  }
  out.push(`dn: cn=grande-salle,ou=Parcs,${base}\nobjectClass: groupOfNames\ncn: grande-salle\n${members.join('\n')}\n`);
  return out.join('\n');
}

export async function runPagesBench(opts: { machines?: number; requests?: number } = {}): Promise<Record<string, unknown>> {
  const machines = opts.machines ?? 1000;
  const requests = opts.requests ?? 30;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-pages-bench-'));
  const ldif = path.join(dir, 'bench.ldif');
  fs.writeFileSync(ldif, bigLdif(machines));
  const base = defaultConfig(ROOT);
  const rssStart = process.memoryUsage().rss;
  const shell = await startShell(
    {
      ...base,
      dataDir: dir,
      listen: { host: '127.0.0.1', port: 0 },
      directory: { kind: 'ldif', file: ldif },
      delegations: [],
      network: { ...base.network, wakeBroadcasts: ['127.255.255.255'] },
      dhcp: { ...base.dhcp, subnet: '10.80.0.0/20', dynamicRange: null, configFile: path.join(dir, 'dnsmasq.conf') },
      moduleSettings: { clonage: { 'tftp.port': 0, 'tftp.bindAddress': '127.0.0.1' } },
    },
    { clock: { now: () => new Date() }, logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }), autoEnable: ['clonage'] },
  );
  try {
    const form = await fetch(`${shell.url}/login`);
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    const login = await fetch(`${shell.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: (form.headers.get('set-cookie') ?? '').split(';')[0] },
      body: `login=admin&password=bench-pw&next=/&_csrf=${token}`,
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const times: number[] = [];
    let bytes = 0;
    let rows = 0;
    const deadline = Date.now() + 120_000;
    for (let i = 0; i < requests && Date.now() < deadline; i++) {
      const t0 = process.hrtime.bigint();
      const r = await fetch(`${shell.url}/modules/clonage/actions/new?parc=grande-salle`, { headers: { cookie } });
      const text = await r.text();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 200) throw new Error(`wizard page: HTTP ${r.status}`);
      bytes = text.length;
      rows = (text.match(/data-machine=/g) ?? []).length;
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 10) / 10;
    return {
      machines, requests: times.length, rowsRendered: rows, pageBytes: bytes,
      p50Ms: q(0.5), p95Ms: q(0.95), maxMs: q(1),
      rssStartMiB: Math.round(rssStart / 1048576), rssEndMiB: Math.round(process.memoryUsage().rss / 1048576),
    };
  } finally {
    await shell.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runPagesBench().then((r) => console.log(JSON.stringify(r, null, 2)), (e) => { console.error(e); process.exit(1); });
}
