/**
 * The sh agent's functions on tables of inputs (test/helpers/agent-shell.ts), under busybox sh and
 * dash: value checks, the job key table, the manifest parser, udpcast's progress lines, the retry
 * rule; plus the agent's structure (one loader list, `local` everywhere, documented exit codes).
 * The namespace suites (test/integration/agent*.test.ts) run the same files as a whole process.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { acceptance, AGENT_DIR, agentFileList, callAgent, SHELLS } from '../helpers/agent-shell';

const ROOT = path.resolve(__dirname, '../..');
const TOKEN = 'A'.repeat(43);

describe.each(SHELLS)('agent functions under %s', (_name, shell) => {
  it('valid_disk: whole disks only', () => {
    // [a-z]+[0-9]* as docs/agent-protocol.md has it (the server sends whole disks only).
    const ok = ['sda', 'vda', 'hdb', 'sdaa', 'sda1', 'nvme0n1', 'nvme12n3', 'mmcblk0'];
    const bad = ['', '1sda', 'SDA', 'sd-a', 'sda;rm', '../sda', 'sda ', 'nvme0n1p1', 'mmcblk0p2', 'a'.repeat(17), 'sd0a'];
    const got = acceptance(shell, 'valid_disk', [...ok, ...bad]);
    expect(got).toEqual(Object.fromEntries([...ok.map((v) => [v, true]), ...bad.map((v) => [v, false])]));
  });

  it('valid_server, valid_token, valid_job_id, valid_iface, valid_image_name', () => {
    const cases: Array<[string, Record<string, boolean>]> = [
      ['valid_server', {
        'http://10.0.0.1:8080/modules/clonage': true, 'https://se3.lan/m': true, 'http://se3': true,
        'ftp://x': false, 'http://': false, 'http://u:p@h': false, 'http://h/a b': false, 'http://h/../x': false, 'http:///x': false, 'http://h/x?y': false,
      }],
      ['valid_token', { [TOKEN]: true, [`${TOKEN}A`]: false, [TOKEN.slice(1)]: false, [`${TOKEN.slice(1)};`]: false, '': false }],
      ['valid_job_id', { j_1: true, 'a-b': true, 'j/1': false, '': false, ['x'.repeat(65)]: false, 'j$x': false }],
      ['valid_iface', { eth0: true, 'enp0s3.10': true, 'eth 0': false, '': false, ['e'.repeat(16)]: false }],
      ['valid_image_name', { 'img-1.2_x': true, '': true, '.hidden': false, '-opt': false, 'a/b': false, 'a b': false }],
    ];
    for (const [fn, table] of cases) expect([fn, acceptance(shell, fn, Object.keys(table))]).toEqual([fn, table]);
  });

  // parse_job + check_job_values: the job's lines on stdin, the J_* values (or REFUSAL) out.
  const jobOf = (lines: string[]) => {
    const out = callAgent(shell, `cat > "$WORK/job.txt"
if parse_job "$WORK/job.txt" j1 && check_job_values; then
  echo "ok role=$J_ROLE disk=$J_DISK port=$J_PORT comp=$J_COMPRESSION reboot=$J_AUTO_REBOOT image=$J_IMAGE store=$J_STORE part=$J_STORAGE_PART chunk=$J_CHUNK_MB retry=$J_RETRY_SECONDS"
else echo "refused: $REFUSAL"; fi`, { input: lines.join('\n') });
    return out.stdout.trim();
  };
  it.each<[string, string[], string]>([
    ['a receiver with defaults', ['job=j1', 'role=receiver', 'disk=sda', 'port=9002'],
      'ok role=receiver disk=sda port=9002 comp=none reboot=always image= store= part=auto chunk=64 retry='],
    ['a backup with its image keys (CRLF lines, unknown keys ignored)', ['job=j1\r', 'role=backup', 'disk=vda', 'image=lundi', 'store=partition', 'storage_part=vda3', 'chunk_mb=8', 'name=pc01', 'retry_seconds=600', 'auto_reboot=never'],
      'ok role=backup disk=vda port= comp=none reboot=never image=lundi store=partition part=vda3 chunk=8 retry=600'],
    ['a restore of the newest image', ['role=restore', 'disk=sda', 'image=', 'store=server'],
      'ok role=restore disk=sda port= comp=none reboot=always image= store=server part=auto chunk=64 retry='],
    ['another job id', ['job=j2', 'role=report'], 'refused: job id mismatch'],
    ['a line without =', ['role=report', 'oops'], 'refused: line 2 is not key=value'],
    ['a bad key', ['Role=report'], 'refused: bad key on line 1'],
    ['a command substitution', ['role=report', 'disk=$(reboot)'], 'refused: bad value for disk'],
    ['a value too long', ['role=report', `image=${'a'.repeat(129)}`], 'refused: value too long for image'],
    ['an empty job', [''], 'refused: empty job'],
    ['an odd port', ['role=sender', 'disk=sda', 'port=9003'], 'refused: bad port'],
    ['a sender without disk: the agent chooses it', ['role=sender', 'port=9002', 'disk='],
      'ok role=sender disk= port=9002 comp=none reboot=always image= store= part=auto chunk=64 retry='],
    ['a partition for a disk', ['role=receiver', 'disk=sda1x', 'port=9002'], 'refused: bad disk'],
    ['an unknown role', ['role=format'], 'refused: bad role'],
    ['a bad max_bitrate', ['role=sender', 'disk=sda', 'port=9002', 'max_bitrate=10mb'], 'refused: bad max_bitrate'],
    ['a bad retry_seconds', ['role=report', 'retry_seconds=5m'], 'refused: bad retry_seconds'],
    ['a bad receive_timeout', ['role=receiver', 'disk=sda', 'port=9002', 'receive_timeout=-1'], 'refused: bad receive_timeout'],
    ['a backup to an unknown store', ['role=backup', 'disk=sda', 'image=x', 'store=ftp'], 'refused: image store ftp is not supported'],
    ['a backup without store', ['role=backup', 'disk=sda', 'image=x'], 'refused: image store none is not supported'],
    ['a hidden image name', ['role=restore', 'disk=sda', 'image=.x', 'store=server'], 'refused: bad image name'],
    ['a storage partition with a path', ['role=backup', 'disk=sda', 'image=x', 'store=partition', 'storage_part=sda'], 'refused: bad storage_part'],
    ['pieces too big', ['role=backup', 'disk=sda', 'image=x', 'store=server', 'chunk_mb=512'], 'refused: bad chunk_mb'],
  ])('parse_job + check_job_values: %s', (_what, lines, expected) => {
    expect(jobOf(lines)).toBe(expected);
  });

  it('parse_cmdline: clonage.* words only, never expanded as file patterns', () => {
    const out = callAgent(shell, `printf '%s\\n' 'console=ttyS0 clonage.server=http://h:1/m clonage.job=j1 clonage.token=t * clonage.manual=sender clonage.disk=sdb' > "$WORK/cmdline"
parse_cmdline "$WORK/cmdline"; echo "$CL_SERVER|$CL_JOB|$CL_TOKEN|$CL_MANUAL|$CL_DISK|$CL_PORT"`);
    expect(out.stdout.trim()).toBe('http://h:1/m|j1|t|sender|sdb|');
  });

  it('form_escape: form syntax escaped, anything else outside the charset replaced', () => {
    const out = callAgent(shell, 'while IFS= read -r v; do form_escape "$v"; echo; done', { input: 'a b&c=d+e%f\nx"y\'z;$(w)\n' });
    expect(out.stdout.split('\n').slice(0, 2)).toEqual(['a+b%26c%3Dd%2Be%25f', 'x_y_z___w_']);
  });

  it('udpcast_bytes: the last figure, the uncompressed one of a piped receiver unless `wire`', () => {
    const logs: Array<[string, string, string]> = [
      ['sender', 'bytes=     1 048 576  re-xmits=0000000 ( 0.0%) slice=0112 \rbytes=     2 097 152  re-xmits=0000000 ( 0.0%) slice=0112 \r', '2097152'],
      ['piped receiver', 'bytes=   524 288 ( 41.94 Mbps)    1 048 576\r', '1048576'],
      ['nothing yet', 'Udp-sender 2023 \nWaiting for receivers\n', '0'],
    ];
    for (const [what, log, bytes] of logs) {
      const out = callAgent(shell, 'cat > "$UDPLOG"; udpcast_bytes', { input: log });
      expect([what, out.stdout.trim()]).toEqual([what, bytes]);
    }
    const wire = callAgent(shell, 'cat > "$UDPLOG"; udpcast_bytes wire', { input: logs[1][1] });
    expect(wire.stdout.trim()).toBe('524288');
  });

  it('dropped_receivers: the addresses of the clients udp-sender dropped, from its numbering', () => {
    const log = ['Udp-sender 20230924', 'New connection from 10.77.1.3  (#0) 00000009', 'New connection from 10.77.1.4  (#1) 00000009',
      'New connection from 10.77.1.5  (#2) 00000009', 'Starting transfer: 00000009',
      'bytes=     1 048 576  re-xmits=0000000 ( 0.0%) slice=0112 \rDropping client #1 because of timeout',
      'Dropping client #2 because of timeout', 'Dropping client #1 because of timeout', 'Transfer complete.', ''].join('\n');
    expect(callAgent(shell, 'cat > "$UDPLOG"; dropped_receivers', { input: log }).stdout).toBe('10.77.1.4,10.77.1.5');
    expect(callAgent(shell, 'cat > "$UDPLOG"; dropped_receivers', { input: 'New connection from 10.0.0.1  (#0) 1\nTransfer complete.\n' }).stdout).toBe('');
  });

  it('receive_timeout: the job\'s, else the environment\'s, else 120 s', () => {
    const out = callAgent(shell, 'receive_timeout; J_RECEIVE_TIMEOUT=30; receive_timeout', { env: {} });
    expect(out.stdout.trim().split('\n')).toEqual(['120', '30']);
  });

  it('split_server: host, port and path of the module URL', () => {
    const out = callAgent(shell, `while IFS= read -r v; do SERVER=$v; if split_server; then echo "$URL_HOST $URL_PORT $URL_HOSTPORT $URL_PATH"; else echo no; fi; done`,
      { input: 'http://10.0.0.1:8080/modules/clonage\nhttp://se3/m/\nhttps://se3/m\n' });
    expect(out.stdout.split('\n').slice(0, 3)).toEqual(['10.0.0.1 8080 10.0.0.1:8080 /modules/clonage', 'se3 80 se3 /m', 'no']);
  });

  const SHA = 'a'.repeat(64);
  const manifest = (extra: string[], end = 2) => ['clonage-image 1', 'image lundi', 'disk sda 536870912 512', `table table.sfdisk 300 ${SHA}`, `head head.bin 1048576 ${SHA}`,
    'part 1 sda1 ext4 partclone.extfs partclone zstd 268435456 1000', `chunk 1 sda1.pc.zst.000 100 ${SHA}`, `chunk 1 sda1.pc.zst.001 50 ${SHA}`, ...extra, `end ${end}`, ''].join('\n');
  it.each<[string, string, string]>([
    ['a well-formed manifest', manifest([]), 'ok lundi 536870912 512 head.bin files=4 parts=1 chunks=2'],
    ['a chunk count that differs from end', manifest([], 3), 'refused'],
    ['a file name with a slash', manifest([`chunk 1 ../x 1 ${SHA}`], 3), 'refused'],
    ['a bad SHA-256', manifest([`chunk 1 x 1 ${SHA.slice(1)}`], 3), 'refused'],
    ['an unknown line', manifest(['rm -rf /']), 'refused'],
    ['another format', manifest([]).replace('clonage-image 1', 'clonage-image 2'), 'refused'],
  ])('parse_manifest: %s', (_what, text, expected) => {
    const out = callAgent(shell, `cat > "$WORK/m.txt"
if parse_manifest "$WORK/m.txt"; then echo "ok $M_IMAGE $M_DISK_SIZE $M_SS $M_HEAD files=$(wc -l < "$WORK/r.files") parts=$(wc -l < "$WORK/r.parts") chunks=$(wc -l < "$WORK/r.chunks")"; else echo refused; fi`, { input: text });
    expect(out.stdout.replace(/ +/g, ' ').trim()).toBe(expected);
  });

  it('suffix_of, part_name, table_entries', () => {
    const out = callAgent(shell, `suffix_of partclone zstd; suffix_of raw none; suffix_of raw gzip; part_name sda 2; part_name nvme0n1 3
printf '%s\\n' 'label: dos' '/dev/sda1 : start=        2048, size=      204800, type=83, bootable' '/dev/sda2 : start=      206848, size=     1024, type=7' > "$WORK/t"; table_entries "$WORK/t"`);
    expect(out.stdout.trim().split('\n')).toEqual(['pc.zst', 'dd', 'dd.gz', 'sda2', 'nvme0n1p3', 'sda1 2048 204800', 'sda2 206848 1024']);
  });

  it('http_retryable: no answer and 502/503/504 are tried again, every other answer is final', () => {
    const codes = ['', '502', '503', '504', '500', '507', '410', '409', '404', '401', '201'];
    const out = callAgent(shell, 'while IFS= read -r v; do HTTP_STATUS=$v; if http_retryable; then echo 1; else echo 0; fi; done', { input: codes.map((c) => `${c}\n`).join('') });
    expect(Object.fromEntries(codes.map((c, i) => [c || 'none', out.stdout.split('\n')[i] === '1']))).toEqual(
      { none: true, 502: true, 503: true, 504: true, 500: false, 507: false, 410: false, 409: false, 404: false, 401: false, 201: false });
  });

  // A call that fails N times: with_retry's pauses (sleep, clock) are replaced by counters.
  const retried = (failures: number, status: string, limit: number) => callAgent(shell, `
CLOCK=0; uptime_cs() { echo "$CLOCK"; }; sleep() { CLOCK=$((CLOCK + $1 * 100)); echo "pause $1" >> "$WORK/pauses"; }
TRIES=0; flaky() { TRIES=$((TRIES + 1)); if [ "$TRIES" -le ${failures} ]; then HTTP_STATUS=${status}; return 1; fi; HTTP_STATUS=200; }
if with_retry "test call" flaky; then echo "ok after $TRIES"; else echo "failed after $TRIES, HTTP \${HTTP_STATUS:-none}"; fi
tr '\\n' ' ' < "$WORK/pauses" 2>/dev/null`, { env: { CLONAGE_RETRY_SECONDS: String(limit) } }).stdout.trim().split('\n');
  it('with_retry: waits 1, 2, 4 … 30 s while the server is away, for the retry time only', () => {
    expect(retried(3, '', 300)).toEqual(['ok after 4', 'pause 1 pause 2 pause 4']);
    expect(retried(2, '503', 300)).toEqual(['ok after 3', 'pause 1 pause 2']);
    expect(retried(1, '507', 300)).toEqual(['failed after 1, HTTP 507']);
    expect(retried(1, '410', 300)).toEqual(['failed after 1, HTTP 410']);
    // 1+2+4+8+16+30+30 = 91 s: the next 30 s pause would pass the 100 s limit.
    expect(retried(1000, '', 100)).toEqual(['failed after 8, HTTP none', 'pause 1 pause 2 pause 4 pause 8 pause 16 pause 30 pause 30']);
  });

  it('the job retry_seconds wins over the environment', () => {
    const out = callAgent(shell, 'J_RETRY_SECONDS=; retry_seconds; J_RETRY_SECONDS=42; retry_seconds', { env: { CLONAGE_RETRY_SECONDS: '7' } });
    expect(out.stdout.trim().split('\n')).toEqual(['7', '42']);
  });

  it('wait_block_device: a plain file stands for a disk only when asked and outside /dev', () => {
    const out = callAgent(shell, `mkdir -p "$DEV_DIR"; : > "$DEV_DIR/sda"; sleep() { :; }
wait_block_device "$DEV_DIR/sda" file && echo file-ok; wait_block_device "$DEV_DIR/sda" || echo strict-no; wait_block_device "$DEV_DIR/sdb" file || echo missing-no`);
    expect(out.stdout.trim().split('\n')).toEqual(['file-ok', 'strict-no', 'missing-no']);
  });

  it('boot_facts: firmware from the EFI folder, Secure Boot from the 5th byte of the SecureBoot variable', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-agent-efi-'));
    const efi = path.join(work, 'efi');
    const facts = () => callAgent(shell, 'boot_facts', { env: { CLONAGE_EFI_DIR: efi } }).stdout.trim();
    try {
      const got: string[] = [facts()]; // no EFI folder: a BIOS boot
      fs.mkdirSync(path.join(efi, 'efivars'), { recursive: true });
      got.push(facts()); // efivarfs not mounted: unknown
      const variable = path.join(efi, 'efivars', 'SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c');
      // attributes 6 (boot service + runtime access), then the value
      for (const bytes of [[6, 0, 0, 0, 1], [6, 0, 0, 0, 0], [6, 0, 0, 0], [6, 0, 0, 0, 2]]) {
        fs.writeFileSync(variable, Buffer.from(bytes));
        got.push(facts());
      }
      expect(got).toEqual([
        'firmware=bios&secure_boot=off', 'firmware=uefi&secure_boot=unknown', 'firmware=uefi&secure_boot=on',
        'firmware=uefi&secure_boot=off', 'firmware=uefi&secure_boot=unknown', 'firmware=uefi&secure_boot=unknown',
      ]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('the exit trap removes the SMB credential file, whatever ends the agent', () => {
    for (const end of ['exit 0', 'false', 'kill -TERM $$']) {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-agent-trap-'));
      callAgent(shell, `install_cleanup; echo secret > "$WORK/smb.cred"; ${end}; echo not-reached`, { work });
      expect([end, fs.existsSync(path.join(work, 'smb.cred'))]).toEqual([end, false]);
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('agent structure', () => {
  const files = fs.readdirSync(AGENT_DIR).filter((f) => f.endsWith('.sh'));
  const source = (f: string) => fs.readFileSync(path.join(AGENT_DIR, f), 'utf8');

  it('clonage-agent.sh loads every agent file in one list, and no other file sources one', () => {
    expect([...agentFileList()].sort()).toEqual(files.filter((f) => f.startsWith('agent-')).sort());
    for (const f of files.filter((x) => x !== 'clonage-agent.sh')) expect([f, /^\s*\.\s/m.test(source(f))]).toEqual([f, false]);
  });

  it('build-bootenv.sh packs the loader and every agent-*.sh', () => {
    const build = fs.readFileSync(path.join(ROOT, 'pxe/build-bootenv.sh'), 'utf8');
    expect(build).toContain('"$HERE/agent/clonage-agent.sh"');
    expect(build).toMatch(/install -m 0644 "\$HERE"\/agent\/agent-\*\.sh/);
  });

  it('no eval, and every variable a function assigns is `local` (outputs in CAPITALS are documented globals)', () => {
    const offenders: string[] = [];
    for (const f of files) {
      const text = source(f);
      expect([f, /(^|[;&|\s])eval\s/m.test(text)]).toEqual([f, false]);
      for (const fn of functionsOf(text)) {
        const locals = new Set([...fn.body.matchAll(/^\s*local\s+([^\n#;]*)/gm)].flatMap((m) => m[1].split(/\s+/).map((w) => w.split('=')[0])));
        for (const v of assignedNames(fn.body)) if (!locals.has(v)) offenders.push(`${f} ${fn.name}: ${v}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the EXIT_* codes are one table in agent-lib.sh, documented in docs/boot-environment.md', () => {
    const codes = [...source('agent-lib.sh').matchAll(/^(EXIT_[A-Z_]+)=(\d+)/gm)].map((m) => [m[1], Number(m[2])] as const);
    expect(codes.length).toBeGreaterThanOrEqual(10);
    expect(new Set(codes.map(([, n]) => n)).size).toBe(codes.length);
    const doc = fs.readFileSync(path.join(ROOT, 'docs/boot-environment.md'), 'utf8');
    for (const [name, n] of codes) expect([name, new RegExp(`^\\| ${n} \\| \`${name}\` \\|`, 'm').test(doc)]).toEqual([name, true]);
    // No magic number left: fail_with and returns name their code.
    for (const f of files) expect([f, [...source(f).matchAll(/fail_with [0-9]|return [2-9]\b/g)].map((m) => m[0])]).toEqual([f, []]);
  });
});

interface ShellFunction { readonly name: string; readonly body: string }

/** Top-level `name() {` … `}` blocks (the agent's style: the closing brace alone at column 0). */
function functionsOf(text: string): ShellFunction[] {
  const out: ShellFunction[] = [];
  const re = /^([a-z_][a-z0-9_]*)\(\) \{(.*)$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const rest = text.slice(m.index);
    const oneLine = /\}\s*$/.test(m[2]) || /;\s*\}\s*(#.*)?$/.test(m[2]);
    const end = oneLine ? rest.indexOf('\n') : rest.search(/\n\}\n|\n\}$/);
    out.push({ name: m[1], body: rest.slice(0, end < 0 ? undefined : end) });
  }
  return out;
}

/** Lower-case names a body assigns: `x=` at the start of a command, `for x in`, `read … x y`. */
function assignedNames(body: string): Set<string> {
  const names = new Set<string>();
  const code = body.split('\n').map((l) => l.replace(/(^|\s)#.*$/, '')).join('\n')
    .replace(/'[^'\n]*'/g, "''").replace(/"(?:[^"\\\n]|\\.)*"/g, '""').replace(/\$\{[^}\n]*\}/g, '${}')
    .replace(/\$\(\([^\n]*?\)\)/g, '$X').replace(/\$\([^()\n]*\)/g, '$X')
    .replace(/(^|;;|\bin)[ \t]*[^\n;()"$]*\)/gm, '$1'); // case patterns
  for (const command of code.split(/[;\n&|{}()]|\b(?:then|do|else|elif)\b/)) {
    const words = command.trim().replace(/^(?:!|if|while|until|local)\s+/, '').split(/\s+/);
    for (const w of words) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(w);
      if (!m) break;
      if (/^[a-z_]/.test(m[1])) names.add(m[1]);
    }
  }
  for (const m of code.matchAll(/\bfor ([a-z_][a-z0-9_]*) in\b/g)) names.add(m[1]);
  for (const m of code.matchAll(/\bread -r ((?:[a-z_][a-z0-9_]* ?)+)/g)) for (const v of m[1].trim().split(' ')) names.add(v);
  return names;
}
