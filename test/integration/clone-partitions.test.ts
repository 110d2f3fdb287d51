/**
 * The PC→PCs clone by partition (pxe/agent/agent-clone.sh): the real agent under busybox sh, real
 * udpcast between network namespaces, real partclone, sfdisk and filesystems on loop devices.
 * MBR (ext4 + swap) and GPT (ESP + MSR-like raw + ext4) emitters; receivers of the same size and
 * larger; only used blocks travel; one receiver whose stream is damaged (a process-boundary shim
 * flips one byte of what udp-receiver outputs) fails alone while the other and the sender succeed.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AgentTestServer } from '../helpers/agent-test-server';
import { LoopDisks, type LoopDisk, readBytes, sha256Range, sumFiles, writeFiles } from '../helpers/backup-loop-disks';
import { createTestNet, destroyTestNet, type NetHost, netnsUnavailableReason, type RunResult, spawnInNs, type TestNet, waitForExit } from '../helpers/netns';

const ROOT = path.resolve(__dirname, '../..');
const AGENT = path.join(ROOT, 'pxe/agent/clonage-agent.sh');
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p)) ?? 'busybox';
const MIB = 1 << 20;
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`clone-by-partition tests SKIPPED: ${skipReason}`);
const describeNs = skipReason ? describe.skip : describe;

/** `sfdisk -d` without the lines that name the device or depend on its size. */
const tableOf = (dev: string) => run('sfdisk', ['-d', dev]).split('\n')
  .filter((l) => !/^(device|last-lba):/.test(l)).map((l) => l.replace(/^\S*?(\d+) :/, 'p$1 :')).join('\n');

describeNs('clone by partition: used blocks, tables, per-stream SHA-256', () => {
  let net: TestNet;
  let server: AgentTestServer;
  let tmp: string;
  let binDir: string;
  let damageDir: string;
  let loops: LoopDisks;
  let serverUrl: string;
  let runs = 0;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `clonage-disk${process.pid}-`));
    binDir = path.join(tmp, 'bin');
    fs.mkdirSync(binDir);
    execFileSync(BUSYBOX, ['--install', '-s', binDir]);
    // The damaged receiver: its udp-receiver's output has one byte flipped 3 MiB in (past the
    // header, the 1 MiB boot area and the ESP's ~0.9 MiB partclone stream: inside the MSR's data).
    damageDir = path.join(tmp, 'damage');
    fs.mkdirSync(damageDir);
    fs.writeFileSync(path.join(damageDir, 'udp-receiver'), `#!/bin/sh
/usr/bin/udp-receiver "$@" | perl -e 'binmode STDIN; binmode STDOUT; my $n = 0; while (read(STDIN, my $b, 65536)) { if ($n <= 3145728 && $n + length($b) > 3145728) { my $i = 3145728 - $n; substr($b, $i, 1) = chr(ord(substr($b, $i, 1)) ^ 0xff); } $n += length($b); print $b; }'
`, { mode: 0o755 });
    loops = new LoopDisks(tmp);
    net = createTestNet(3);
    server = await AgentTestServer.start(path.join(tmp, 'server.sock'));
    serverUrl = await server.exposeIn(net, net.bridgeNs, net.bridgeIp, 8080);
  });

  afterAll(async () => {
    await server?.stop();
    loops?.cleanup();
    destroyTestNet(net);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A device directory where sda (and sda1…sdaN, maybe not there yet) are the loop disk's nodes. */
  function devDirOf(name: string, disk: LoopDisk, parts: number): string {
    const dir = path.join(tmp, `dev-${name}`);
    fs.mkdirSync(dir);
    fs.symlinkSync(disk.loop, path.join(dir, 'sda'));
    for (let n = 1; n <= parts; n++) fs.symlinkSync(disk.part(n), path.join(dir, `sda${n}`));
    return dir;
  }

  function startAgent(host: NetHost, devDir: string, job: string, tok: string, extraPath = ''): { done: Promise<RunResult>; work: string } {
    runs += 1;
    const work = path.join(tmp, `run${runs}`);
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'cmdline'), `console=ttyS0 clonage.server=${serverUrl} clonage.job=${job} clonage.token=${tok}\n`);
    const child = spawnInNs(net, host.ns, BUSYBOX, ['sh', AGENT], {
      env: {
        PATH: [extraPath, binDir, '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter(Boolean).join(':'),
        CLONAGE_CMDLINE: path.join(work, 'cmdline'), CLONAGE_DEV_DIR: devDir, CLONAGE_WORK_DIR: path.join(work, 'agent'),
        CLONAGE_REBOOT_CMD: `touch ${work}/reboot-requested`, CLONAGE_POWEROFF_CMD: `touch ${work}/poweroff-requested`, CLONAGE_IFACE: host.iface,
      },
    });
    return { done: waitForExit(child, 180000), work };
  }

  /** One sender and two receivers; the second receiver optionally behind the damaging shim. */
  async function clone(prefix: string, port: number, devs: [string, string, string], compression: string, damageSecond = false) {
    const tok = () => randomBytes(32).toString('base64url');
    const ids = [`${prefix}_s`, `${prefix}_r1`, `${prefix}_r2`];
    const toks = [tok(), tok(), tok()];
    const common = { disk: 'sda', port, compression, auto_reboot: 'always' };
    server.addJob(ids[0], toks[0], { job: ids[0], role: 'sender', min_receivers: 2, min_wait: 0, max_wait: 60, retries_until_drop: 60, ...common });
    server.addJob(ids[1], toks[1], { job: ids[1], role: 'receiver', start_timeout: 60, ...common });
    server.addJob(ids[2], toks[2], { job: ids[2], role: 'receiver', start_timeout: 60, ...common });
    const r1 = startAgent(net.hosts[1], devs[1], ids[1], toks[1]);
    const r2 = startAgent(net.hosts[2], devs[2], ids[2], toks[2], damageSecond ? damageDir : '');
    await new Promise((r) => setTimeout(r, 300));
    const s = startAgent(net.hosts[0], devs[0], ids[0], toks[0]);
    const results = await Promise.all([s.done, r1.done, r2.done]);
    const result = (i: number) => server.callsOf(ids[i], 'result')[0]?.form ?? {};
    const log = (i: number) => server.callsOf(ids[i], 'log')[0]?.body ?? '';
    return { results, result, log };
  }

  test('MBR ext4 + swap onto a same-size and a larger disk: tables, boot code, files, fsck; only used blocks sent', async () => {
    const script = 'label: dos\n,48M,83,*\n,8M,82\n';
    const src = loops.attach('mbr-src', 64, script);
    run('mkfs.ext4', ['-q', '-F', '-L', 'root', src.part(1)]);
    run('mkswap', ['-L', 'swp', src.part(2)]);
    const sums = loops.withMount(src.part(1), 'ext4', false, (d) => writeFiles(d, { 'etc/hostname': 'pc01\n', 'home/data.bin': 6 * MIB, 'a/b/c.txt': 'clonage' }));
    fs.writeFileSync(path.join(tmp, 'boot.bin'), randomBytes(440));
    run('dd', [`if=${path.join(tmp, 'boot.bin')}`, `of=${src.loop}`, 'bs=440', 'count=1', 'conv=notrunc']);
    const dst1 = loops.attach('mbr-dst1', 64);
    const dst2 = loops.attach('mbr-dst2', 96);
    const devs: [string, string, string] = [devDirOf('mbr-s', src, 2), devDirOf('mbr-r1', dst1, 2), devDirOf('mbr-r2', dst2, 2)];

    const c = await clone('jm', 9102, devs, 'zstd');
    for (const i of [0, 1, 2]) expect({ i, code: c.results[i].code, result: c.result(i), tail: c.results[i].stderr.slice(-1500) }).toMatchObject({ code: 0, result: { status: 'succeeded', exit_code: '0' } });
    for (const dst of [dst1, dst2]) {
      loops.ensurePartitions(dst, 2);
      expect(tableOf(dst.loop)).toBe(tableOf(src.loop));
      expect(readBytes(dst.file, 0, 512).equals(readBytes(src.file, 0, 512))).toBe(true);   // boot code, disk id, entries
      expect(run('e2fsck', ['-fn', dst.part(1)])).toMatch(/clean|files/);
      expect(loops.withMount(dst.part(1), 'ext4', true, (d) => sumFiles(d, Object.keys(sums)))).toEqual(sums);
      expect(run('blkid', ['-o', 'value', '-s', 'TYPE', dst.part(2)]).trim()).toBe('swap');
    }
    // Used blocks only: the ext4 stream is its ~6 MiB of files, not its 48 MiB.
    const sent = /sda1: sent (\d+) stream bytes \(partclone\.extfs\)/.exec(c.log(0));
    expect(sent).not.toBeNull();
    expect(Number(sent![1])).toBeLessThan(16 * MIB);
    expect(c.log(1)).toMatch(/sda1: stream SHA-256 [0-9a-f]{64} matches the sender's/);
    expect(c.result(1).message).toBe('receiver finished on sda');
  }, 240000);

  test('GPT ESP + MSR-like raw + ext4; the larger receiver gets its backup header at its end; a damaged stream fails that receiver alone', async () => {
    const script = 'label: gpt\n,34M,U\n,4M,E3C9E316-0B5C-4DB8-817D-F92DF00215AE\n,,L\n';
    const src = loops.attach('gpt-src', 96, script, (file) => {
      run('sfdisk', ['-q', '--part-label', file, '1', 'EFI system partition']);
      run('sfdisk', ['-q', '--part-label', file, '2', 'Microsoft reserved partition']);
      run('sfdisk', ['-q', '--part-attrs', file, '2', 'RequiredPartition,63']);
    });
    // The ESP made in a file with mtools (no vfat module needed on the host), then written in.
    const espImg = path.join(tmp, 'esp.img');
    fs.writeFileSync(espImg, Buffer.alloc(34 * MIB));
    run('mkfs.vfat', ['-F', '32', '-s', '1', '-n', 'ESP', espImg]);
    const efi = path.join(tmp, 'BOOTX64.EFI');
    fs.writeFileSync(efi, randomBytes(300 * 1024));
    run('mmd', ['-i', espImg, '::/EFI', '::/EFI/BOOT']);
    run('mcopy', ['-i', espImg, efi, '::/EFI/BOOT/BOOTX64.EFI']);
    run('dd', [`if=${espImg}`, `of=${src.part(1)}`, 'bs=1M', 'conv=fsync']);
    const msr = randomBytes(4 * MIB);
    fs.writeFileSync(path.join(tmp, 'msr.bin'), msr);
    run('dd', [`if=${path.join(tmp, 'msr.bin')}`, `of=${src.part(2)}`, 'bs=1M', 'conv=fsync']);
    run('mkfs.ext4', ['-q', '-F', src.part(3)]);
    const sums = loops.withMount(src.part(3), 'ext4', false, (d) => writeFiles(d, { 'x.bin': 2 * MIB, 'y.txt': 'y' }));
    const dst1 = loops.attach('gpt-dst1', 128);
    const dst2 = loops.attach('gpt-dst2', 96);
    const devs: [string, string, string] = [devDirOf('gpt-s', src, 3), devDirOf('gpt-r1', dst1, 3), devDirOf('gpt-r2', dst2, 3)];

    const c = await clone('jg', 9104, devs, 'none', true);
    expect({ code: c.results[0].code, result: c.result(0), tail: c.results[0].stderr.slice(-1500) }).toMatchObject({ code: 0, result: { status: 'succeeded' } });
    expect({ code: c.results[1].code, result: c.result(1), tail: c.results[1].stderr.slice(-1500) }).toMatchObject({ code: 0, result: { status: 'succeeded' } });
    expect(c.results[2].code).toBe(1);
    expect(c.result(2)).toMatchObject({ status: 'failed', exit_code: '10' });
    expect(c.result(2).message).toMatch(/^receiver failed: partitions sda2 were written from a damaged stream/);
    expect(c.log(2)).toMatch(/sda2: stream SHA-256 [0-9a-f]{64} differs from the sender's [0-9a-f]{64}/);
    expect(c.log(2)).toMatch(/sda3: stream SHA-256 [0-9a-f]{64} matches the sender's/);   // it went on to the end

    loops.ensurePartitions(dst1, 3);
    expect(tableOf(dst1.loop)).toBe(tableOf(src.loop));   // disk GUID, partition GUIDs, types, names
    // The backup GPT header is at the end of the larger disk.
    expect(readBytes(dst1.file, 128 * MIB - 512, 8).toString('latin1')).toBe('EFI PART');
    expect(run('sfdisk', ['--verify', dst1.loop])).toMatch(/No errors detected/);
    expect(sha256Range(dst1.file, 35 * MIB, 4 * MIB)).toBe(sha256Range(src.file, 35 * MIB, 4 * MIB));   // the raw MSR
    expect(run('fsck.vfat', ['-n', dst1.part(1)])).not.toMatch(/differ|corrupt/i);
    const back = path.join(tmp, 'BOOTX64.back');
    fs.writeFileSync(espImg, readBytes(dst1.file, MIB, 34 * MIB));
    run('mcopy', ['-i', espImg, '::/EFI/BOOT/BOOTX64.EFI', back]);
    expect(fs.readFileSync(back).equals(fs.readFileSync(efi))).toBe(true);
    expect(loops.withMount(dst1.part(3), 'ext4', true, (d) => sumFiles(d, Object.keys(sums)))).toEqual(sums);
  }, 240000);

  test('a hibernated NTFS (Windows fast startup) or a dirty ext4 on the emitter: refused before anything is sent, in French, saying what to do', async () => {
    const src = loops.attach('dirty-src', 64, 'label: dos\n,24M,7\n,,83\n');
    run('mkntfs', ['-q', '-F', '-Q', src.part(1)]);
    // The hibernation file as Windows leaves it: hiberfil.sys in the root, starting with HIBR.
    loops.withMount(src.part(1), 'ntfs', false, (d) => fs.writeFileSync(path.join(d, 'hiberfil.sys'), Buffer.concat([Buffer.from('HIBR'), Buffer.alloc(8188)])));
    run('mkfs.ext4', ['-q', '-F', src.part(2)]);
    run('debugfs', ['-w', '-R', 'feature needs_recovery', src.part(2)]);   // a journal left to replay
    const devs = devDirOf('dirty-s', src, 2);
    const dst = loops.attach('dirty-dst', 64);
    const dstDev = devDirOf('dirty-r', dst, 2);
    const tok = () => randomBytes(32).toString('base64url');
    const refused = async (id: string, port: number) => {
      const t = [tok(), tok()];
      const common = { disk: 'sda', port, compression: 'zstd', auto_reboot: 'always' };
      server.addJob(`${id}_s`, t[0], { job: `${id}_s`, role: 'sender', min_receivers: 1, min_wait: 0, max_wait: 10, ...common });
      server.addJob(`${id}_r`, t[1], { job: `${id}_r`, role: 'receiver', start_timeout: 5, ...common });
      const r = startAgent(net.hosts[1], dstDev, `${id}_r`, t[1]);
      const s = startAgent(net.hosts[0], devs, `${id}_s`, t[0]);
      const [rs, rr] = await Promise.all([s.done, r.done]);
      expect(rs.code).toBe(1);
      expect(rr.code).toBe(1);
      expect(server.callsOf(`${id}_s`, 'log')[0]?.body ?? '').not.toMatch(/udp-sender exited/);   // never started
      expect(readBytes(dst.file, 0, 64 * MIB).equals(Buffer.alloc(64 * MIB))).toBe(true);   // nothing written
      return server.callsOf(`${id}_s`, 'result')[0].form;
    };
    expect(await refused('jh', 9106)).toMatchObject({ status: 'failed', exit_code: '6',
      message: expect.stringMatching(/^sender failed: sda1 _NTFS_ : Windows est en veille prolongee ou a ete arrete avec le demarrage rapide.*Redemarrer Windows .*rien n a ete ecrit$/) });
    // Windows restarted: no hibernation left (ntfs-3g's remove_hiberfile), the ext4 still dirty.
    const mnt = fs.mkdtempSync(path.join(tmp, 'hib-'));
    run('ntfs-3g', ['-o', 'remove_hiberfile', src.part(1), mnt]);
    run('umount', [mnt]);
    expect(await refused('jd', 9108)).toMatchObject({ status: 'failed', exit_code: '6',
      message: expect.stringMatching(/^sender failed: sda2 _ext4_ : systeme de fichiers non demonte proprement ou marque en erreur.*lancer e2fsck, puis relancer : rien n a ete ecrit$/) });
  }, 240000);
});
