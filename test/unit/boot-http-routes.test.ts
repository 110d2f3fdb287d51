import express from 'express';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { jobPlan, localPlan } from '../../src/boot/boot-plan';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { BOOT_BASE_PATH, bootRouter } from '../../src/http/pc/boot-routes';
import { memoryLogger } from '../helpers/memory-logger';
import { renderIpxeForPlan, renderIpxeMenu } from '../../src/boot/ipxe-renderer';
import type { MenuSettings } from '../../src/boot/menu-settings';
import { Mac } from '../../src/common/domain/mac';
import { withoutIdleClose } from '../helpers/fake-host';
import { BrokenBootPlans, EmptyBootPlans, INTENTIONAL } from '../helpers/fakes';

const TOKEN = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c';
const MAC = Mac.parse('52:54:00:12:34:56');
const settings: MenuSettings = {
  mode: 'text',
  timeoutSeconds: 8,
  maintenancePasswordHash: null,
  serverUrl: 'http://10.77.0.1:8080/modules/clonage',
  installed: { bootenv: ['sender'] },
};
const KERNEL = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));

let dir: string;
let server: http.Server;
let base: string;
let store: BootPlanStore;
let db: Database.Database;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'clonage-boot-http-'));
  const toolkits = path.join(dir, 'toolkits');
  mkdirSync(path.join(toolkits, 'bootenv'), { recursive: true });
  writeFileSync(path.join(toolkits, 'bootenv', 'vmlinuz'), KERNEL);
  writeFileSync(path.join(toolkits, 'bootenv', 'initrd.img'), 'INITRD');
  writeFileSync(path.join(toolkits, 'bootenv', 'SHA256SUMS'), 'not for PCs');
  writeFileSync(path.join(dir, 'secret.txt'), 'outside the jail');
  mkdirSync(path.join(toolkits, 'fifokit'));
  execFileSync('mkfifo', [path.join(toolkits, 'fifokit', 'vmlinuz')]);
  symlinkSync('/dev/zero', path.join(toolkits, 'fifokit', 'initrd.img'));
  db = new Database(':memory:');
  store = new BootPlanStore(db, { now: () => new Date('2025-03-10T08:00:00Z') });
  const app = express();
  app.use(`/modules/clonage${BOOT_BASE_PATH}`, bootRouter({ plans: store, menuSettings: () => settings, toolkitsDir: toolkits, logger: memoryLogger() }));
  server = withoutIdleClose(app.listen(0, '127.0.0.1'));
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/modules/clonage`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw request: fetch() would normalise '..' segments before sending them. */
function rawGet(rawPath: string): Promise<number> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /boot/ipxe', () => {
  afterEach(() => store.disarm(MAC));

  it('no MAC → menu script, never cached', async () => {
    const res = await fetch(`${base}/boot/ipxe`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe(renderIpxeMenu(settings));
  });

  it.each(['not-a-mac', 'ff:ff:ff:ff:ff:ff', '52:54:00:12:34:56%0Akernel%20evil'])('invalid MAC %s → menu script', async (mac) => {
    const res = await fetch(`${base}/boot/ipxe?mac=${mac}`);
    expect(await res.text()).toBe(renderIpxeMenu(settings));
  });

  it('repeated mac parameter → menu script', async () => {
    const res = await fetch(`${base}/boot/ipxe?mac=52:54:00:12:34:56&mac=52:54:00:12:34:57`);
    expect(await res.text()).toBe(renderIpxeMenu(settings));
  });

  it('MAC with a job → the job script; still served until consumed, then local', async () => {
    const plan = jobPlan({ jobId: 'j1', token: TOKEN, toolkit: 'bootenv', label: 'clonage-sender' });
    store.arm(MAC, plan);
    const url = `${base}/boot/ipxe?mac=52:54:00:12:34:56`;
    expect(await (await fetch(url)).text()).toBe(renderIpxeForPlan(plan, settings));
    expect(await (await fetch(url)).text()).toBe(renderIpxeForPlan(plan, settings));
    store.consume(MAC, 'j1');
    expect(await (await fetch(url)).text()).toBe(renderIpxeForPlan(localPlan(), settings));
  });

  it('accepts the MAC in any of the usual spellings', async () => {
    store.arm(MAC, localPlan());
    const res = await fetch(`${base}/boot/ipxe?mac=52-54-00-12-34-56`);
    expect(await res.text()).toBe(renderIpxeForPlan(localPlan(), settings));
  });
});

describe('GET /boot/files/:toolkit/:file', () => {
  it('serves the kernel whole', async () => {
    const res = await fetch(`${base}/boot/files/bootenv/vmlinuz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await res.arrayBuffer()).equals(KERNEL)).toBe(true);
  });

  it('answers a Range request with 206 and exactly those bytes', async () => {
    const res = await fetch(`${base}/boot/files/bootenv/vmlinuz`, { headers: { Range: 'bytes=1000-1999' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 1000-1999/${KERNEL.length}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(KERNEL.subarray(1000, 2000))).toBe(true);
  });

  it('answers a suffix range and refuses an unsatisfiable one', async () => {
    const tail = await fetch(`${base}/boot/files/bootenv/vmlinuz`, { headers: { Range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(KERNEL.subarray(KERNEL.length - 10))).toBe(true);
    const bad = await fetch(`${base}/boot/files/bootenv/vmlinuz`, { headers: { Range: 'bytes=9000-9999' } });
    expect(bad.status).toBe(416);
  });

  it('serves the initrd', async () => {
    const res = await fetch(`${base}/boot/files/bootenv/initrd.img`);
    expect(await res.text()).toBe('INITRD');
  });

  it('reads boot files in 256 KiB pieces, not the stream default of 64 KiB (issue 15)', async () => {
    const open = jest.spyOn(fs, 'createReadStream');
    try {
      expect((await fetch(`${base}/boot/files/bootenv/vmlinuz`)).status).toBe(200);
      expect(open).toHaveBeenCalledWith(expect.stringMatching(/vmlinuz$/), expect.objectContaining({ highWaterMark: 256 * 1024 }));
    } finally {
      open.mockRestore();
    }
  });

  it.each([
    '/boot/files/bootenv/SHA256SUMS', // not a kernel nor an initrd
    '/boot/files/nothere/vmlinuz', // toolkit not installed
    '/boot/files/BootEnv/vmlinuz',
    '/boot/files/..%2Fsecret.txt/vmlinuz',
    '/boot/files/..%2F..%2Fetc/passwd',
    '/boot/files/%2e%2e/vmlinuz',
    '/boot/files/bootenv/..%2F..%2Fsecret.txt',
    '/boot/files/bootenv/vmlinuz%00',
    '/boot/files/.bootenv/vmlinuz',
  ])('refuses %s with 404', async (p) => {
    expect(await rawGet(`/modules/clonage${p}`)).toBe(404);
  });

  it('refuses a FIFO and a device at once, more times than libuv has threads, and still serves files', async () => {
    // Opening the FIFO would block a libuv thread until a writer came: after four, the kernel
    // below could not be read and this test would hang.
    for (let i = 0; i < 6; i++) {
      expect(await rawGet('/modules/clonage/boot/files/fifokit/vmlinuz')).toBe(404);
      expect(await rawGet('/modules/clonage/boot/files/fifokit/initrd.img')).toBe(404);
    }
    expect(Buffer.from(await (await fetch(`${base}/boot/files/bootenv/vmlinuz`)).arrayBuffer())).toEqual(KERNEL);
  });

  it('a literal ../ never reaches outside the toolkit folder', async () => {
    const status = await rawGet('/modules/clonage/boot/files/../../secret.txt');
    expect(status).toBe(404);
    const status2 = await rawGet('/modules/clonage/boot/files/bootenv/../../../secret.txt');
    expect(status2).toBe(404);
  });
});

describe('GET /boot/ipxe with a broken plan store (test/helpers/fakes.ts)', () => {
  it('serves a local boot and logs why, for every MAC', async () => {
    const logger = memoryLogger();
    const app = express();
    app.use(BOOT_BASE_PATH, bootRouter({ plans: new BrokenBootPlans(), menuSettings: () => settings, toolkitsDir: dir, logger }));
    const s = withoutIdleClose(app.listen(0, '127.0.0.1'));
    await new Promise((r) => s.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/boot/ipxe?mac=${MAC}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/boot plan "local"/);
      expect(logger.lines.filter((l) => l.includes('serving a local boot') && l.includes(INTENTIONAL))).toHaveLength(1);
    } finally {
      await new Promise((r) => s.close(r));
    }
  });

  it('an empty plan store boots every PC locally', async () => {
    const app = express();
    app.use(BOOT_BASE_PATH, bootRouter({ plans: new EmptyBootPlans(), menuSettings: () => settings, toolkitsDir: dir, logger: memoryLogger() }));
    const s = withoutIdleClose(app.listen(0, '127.0.0.1'));
    await new Promise((r) => s.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/boot/ipxe?mac=${MAC}`);
      expect(await res.text()).toBe(renderIpxeForPlan(localPlan(), settings));
    } finally {
      await new Promise((r) => s.close(r));
    }
  });
});
