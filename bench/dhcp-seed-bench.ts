/**
 * First-start seeding of DHCP reservations from the directory (issue 15 item 5): one batch, one
 * write of the dnsmasq files, so the time grows linearly with the number of machines. Reported as
 * ms per machine at 1,000 and 5,000 machines and their ratio (≈ 1 when linear; the old
 * one-write-per-reservation seeding made it ≈ 5), next to the old way at 1,000 as the baseline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parseDhcpSettings } from '../src/shell/dhcp/dhcp-config';
import { DhcpModule } from '../src/shell/dhcp/dhcp-module';

const settings = parseDhcpSettings({ interface: 'br0', subnet: '10.64.0.0/16', dynamicRange: { start: '10.64.255.1', end: '10.64.255.200' } });

function inputs(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    mac: `52:54:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
    ip: `10.64.${(i >> 8) & 0xff}.${(i & 0xff) + 1 > 254 ? 254 : (i & 0xff) + 1}`,
    name: `pc-${i}`,
  })).filter((x, i, all) => all.findIndex((y) => y.ip === x.ip) === i);
}

function seed(n: number, batch: boolean): { machines: number; ms: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-seed-bench-'));
  try {
    const db = new Database(':memory:');
    const dhcp = new DhcpModule({ db, settings, clock: { now: () => new Date() }, configPath: path.join(dir, 'dnsmasq.conf') });
    dhcp.writeConfig();
    const list = inputs(n);
    const t0 = process.hrtime.bigint();
    if (batch) dhcp.addReservations(list);
    else for (const r of list) dhcp.addReservation(r);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    db.close();
    return { machines: list.length, ms: Math.round(ms) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function runDhcpSeedBench(): Promise<Record<string, unknown>> {
  const oneByOne1k = seed(1000, false);
  const batch1k = seed(1000, true);
  const batch5k = seed(5000, true);
  const perMachine = (r: { machines: number; ms: number }) => r.ms / r.machines;
  return {
    baselineOneByOne1k: oneByOne1k,
    batch1k,
    batch5k,
    speedupAt1k: Number((oneByOne1k.ms / Math.max(batch1k.ms, 1)).toFixed(1)),
    perMachineRatio5kOver1k: Number((perMachine(batch5k) / Math.max(perMachine(batch1k), 0.001)).toFixed(2)),
    loadAverage: os.loadavg()[0],
  };
}
