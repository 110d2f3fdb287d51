/**
 * Hostile PCs against the REAL shell: the agent endpoints (job, progress, log, result, report),
 * the emitter acknowledgement and post-clone endpoints, the HTTP boot routes and the embedded
 * TFTP server. Wrong, missing, malformed and replayed tokens, traversal, oversized and malformed
 * bodies: each gets a clear 4xx and changes nothing; no boot file ever carries a hostile value.
 */
import {
  errorLines, agent, ALL_STRINGS, allBootFiles, BAD_MACS, BIG, checkBootFile, Client, createAction, emitterScripts, removedEvent, scriptsWritten, installFakeToolkit, MARKUP,
  markersIn, raw, type Reply, type SendOptions, snapshot, targetStates, tftpGet, tftpPortOf, TRAVERSAL, until, untilArmed, jobOf,
} from '../helpers/hostile';
import { startTestShell, type TestShell } from '../helpers/test-shell';
import { expectUnchanged } from '../helpers/unchanged';

const M = '/modules/clonage';
const MAC = { pc01: '52:54:00:12:00:0b', pc02: '52:54:00:12:00:0c', pc03: '52:54:00:12:00:0d', pc04: '52:54:00:12:00:0e', cdi01: '52:54:00:12:00:17', cdi02: '52:54:00:12:00:18' };
const TEXT = { 'content-type': 'text/plain' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('hostile PCs against the agent, emitter and boot endpoints of the real shell', () => {
  let shell: TestShell;
  let admin: Client;
  let cloneId: string;
  let domainId: string;
  const job: Record<'pc01' | 'pc02' | 'pc03' | 'pc04', { jobId: string; token: string }> = {} as never;
  let emitter: NonNullable<ReturnType<typeof emitterScripts>>;

  beforeAll(async () => {
    shell = await startTestShell({}, { autoEnable: ['clonage'], beforeStart: installFakeToolkit });
    admin = await Client.as(shell.url, 'admin');
    cloneId = await createAction(admin, { type: 'clone', parc: 'salle101', emitter: 's101-pc01', machine: ['s101-pc02', 's101-pc03'] });
    await untilArmed(shell, cloneId, 3);
    for (const n of ['pc01', 'pc02', 'pc03'] as const) job[n] = await jobOf(shell.url, MAC[n]);
    expect((await agent(shell.url, 'GET', job.pc02.jobId, job.pc02.token)).status).toBe(200); // pc02 runs
    const backupId = await createAction(admin, { type: 'backup', parc: 'salle101', machine: ['s101-pc04'] });
    await untilArmed(shell, backupId, 4);
    job.pc04 = await jobOf(shell.url, MAC.pc04);
    expect((await agent(shell.url, 'GET', job.pc04.jobId, job.pc04.token)).status).toBe(200); // a running backup
    domainId = await createAction(admin, { type: 'clone', parc: 'cdi', emitter: 'cdi-pc01', machine: ['cdi-pc02'], domain: 'windows-domain' });
    await until(() => scriptsWritten(shell.db, domainId), 'emitter scripts');
    await until(() => shell.logLines.filter((l) => l.includes('"msg":"wake sent"')).length >= 5, 'emitter woken');
    emitter = emitterScripts(shell.dataDir, 'cdi-pc01')!;
  });
  afterAll(async () => {
    await shell?.stopAndClean();
  });
  let logMark = 0;
  beforeEach(() => {
    logMark = shell.logLines.length;
  });
  afterEach(() => {
    expect(errorLines(shell.logLines, logMark)).toEqual([]);
  });

  async function refused(send: () => Promise<Reply>, expected: number[], label: string): Promise<Reply> {
    const before = snapshot(shell);
    const r = await send();
    expect({ label, status: r.status, ok: expected.includes(r.status) }).toEqual({ label, status: r.status, ok: true });
    expectUnchanged(snapshot(shell), before);
    expect(r.text).not.toMatch(/node_modules|at \w+ \(/);
    return r;
  }
  const call = (method: string, p: string, token: string | null, o: SendOptions, expected: number[]) =>
    refused(() => agent(shell.url, method, p, token, o), expected, `${method} ${p.slice(0, 60)} ${String(token).slice(0, 20)} ${JSON.stringify(o.form ?? o.body ?? '').slice(0, 80)}`);
  const http = (method: string, p: string, o: SendOptions, expected: number[]) =>
    refused(() => raw(shell.url, method, p, { ...o, csrf: false }), expected, `${method} ${p.slice(0, 90)}`);

  it('job fetch: missing, malformed, wrong, foreign and misplaced tokens are 401/403; unknown or traversal job ids 404', async () => {
    const j = job.pc03;
    for (const t of [null, '', ' ', '$(id)', 'A'.repeat(42), 'A'.repeat(44), 'A'.repeat(1000), `${j.token} x`, `${j.token};reboot`]) {
      await call('GET', j.jobId, t, {}, [401]);
    }
    for (const t of ['A'.repeat(43), job.pc01.token, job.pc02.token]) await call('GET', j.jobId, t, {}, [403]);
    await http('GET', `${M}/api/agent/jobs/${j.jobId}`, { headers: { authorization: `Basic ${Buffer.from(`x:${j.token}`).toString('base64')}` } }, [401]);
    await http('GET', `${M}/api/agent/jobs/${j.jobId}?token=${j.token}`, {}, [401]);
    for (const id of [...TRAVERSAL.map(encodeURIComponent), 'j_unknown', `${j.jobId};reboot`, encodeURIComponent('$(id)'), 'x'.repeat(65), '%A', '%E0%A4%A']) {
      await call('GET', id, j.token, {}, ['%A', '%E0%A4%A'].includes(id) ? [400] : [404]);
    }
    expect(targetStates(shell.db, cloneId)['s101-pc03']).toBe('armed');
  });

  it('replayed tokens: a fetched job cannot be fetched again (409), and the action page says so', async () => {
    const before = snapshot(shell) as { clonage_events: unknown[] };
    expect((await agent(shell.url, 'GET', job.pc02.jobId, job.pc02.token)).status).toBe(409);
    const after = snapshot(shell) as { clonage_events: { message_key: string | null }[] };
    // Someone else read the boot file: one warning on the action, nothing else changed.
    expect(after.clonage_events.slice(before.clonage_events.length).map((e) => e.message_key)).toEqual(['event.agent.secondFetch']);
    expect({ ...after, clonage_events: before.clonage_events }).toEqual(before);
    await call('GET', job.pc02.jobId, job.pc02.token, {}, [409]); // the same warning is not repeated
    await call('POST', `${job.pc03.jobId}/progress`, job.pc03.token, { form: { percent: '5' } }, [409]);
  });

  it('progress: hostile stages and numbers are 400, bodies too big 413, bad charsets 415', async () => {
    const p = `${job.pc02.jobId}/progress`;
    const t = job.pc02.token;
    for (const v of ALL_STRINGS) await call('POST', p, t, { form: { stage: v } }, [400]);
    for (const v of [...ALL_STRINGS, '101', '-1', 'NaN', 'Infinity', '1e2', '0x10', '50%', '5,5', '1.1234567']) await call('POST', p, t, { form: { percent: v } }, [400]);
    for (const v of [...ALL_STRINGS, '-1', '1.5', '9'.repeat(20)]) await call('POST', p, t, { form: { bytes: v } }, [400]);
    for (const v of ['1e10', '-5', '1000000001']) await call('POST', p, t, { form: { rate_kbps: v } }, [400]);
    await call('POST', p, t, { form: { percent: ['1', '2'] } }, [400]);
    await call('POST', p, t, { body: JSON.stringify({ percent: { $gt: 1 } }), headers: { 'content-type': 'application/json' } }, [400]);
    await call('POST', p, t, { body: `percent=5&stage=${'x'.repeat(2 * 1024 * 1024)}`, headers: FORM }, [413]);
    await call('POST', p, t, { body: Array.from({ length: 1500 }, (_, i) => `k${i}=1`).join('&'), headers: FORM }, [413]);
    await call('POST', p, t, { body: 'percent=5', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-16' } }, [415]);
    await call('POST', p, t, { body: 'percent=5', headers: { ...FORM, 'content-encoding': 'gzip' } }, [400]);
    await call('POST', p, 'A'.repeat(43), { form: { percent: '5' } }, [403]);
    await call('POST', p, null, { form: { percent: '5' } }, [401]);
  });

  it('log and report: too big 413, not text 400, corrupt encodings 400, wrong or armed tokens refused', async () => {
    for (const kind of ['log', 'report']) {
      const p = `${job.pc02.jobId}/${kind}`;
      await call('POST', p, job.pc02.token, { body: 'x'.repeat(64 * 1024 + 1), headers: TEXT }, [413]);
      await call('POST', p, job.pc02.token, { body: BIG.repeat(21), headers: TEXT }, [413]);
      await call('POST', p, job.pc02.token, { body: '{"a":1}', headers: { 'content-type': 'application/json' } }, [400]);
      await call('POST', p, job.pc02.token, { body: 'abc', headers: { ...TEXT, 'content-encoding': 'deflate' } }, [400]);
      await call('POST', p, job.pc02.token, { body: 'abc', headers: { ...TEXT, 'content-encoding': 'x-evil' } }, [415]);
      await call('POST', p, 'A'.repeat(43), { body: 'abc', headers: TEXT }, [403]);
      await call('POST', `${job.pc03.jobId}/${kind}`, job.pc03.token, { body: 'abc', headers: TEXT }, [409]);
    }
  });

  it('result: hostile statuses, exit codes and oversized messages are 400 and finish nothing', async () => {
    const p = `${job.pc02.jobId}/result`;
    const t = job.pc02.token;
    for (const v of [...ALL_STRINGS, 'SUCCEEDED', 'succeeded;reboot', 'ok']) await call('POST', p, t, { form: { status: v } }, [400]);
    await call('POST', p, t, { form: { status: ['succeeded', 'failed'] } }, [400]);
    for (const v of [...ALL_STRINGS, '1.5', '9'.repeat(12), '0x1']) await call('POST', p, t, { form: { status: 'failed', exit_code: v } }, [400]);
    await call('POST', p, t, { form: { status: 'failed', message: BIG } }, [400]);
    await call('POST', p, job.pc01.token, { form: { status: 'succeeded' } }, [403]);
    for (const id of TRAVERSAL.map(encodeURIComponent)) await call('POST', `${id}/result`, t, { form: { status: 'succeeded' } }, [404]);
    await http('POST', `${M}/api/agent/jobs/${job.pc02.jobId}/%2e%2e%2f%2e%2e%2fconfig`, { form: {} }, [404]);
    expect(targetStates(shell.db, cloneId)['s101-pc02']).toBe('running');
  });

  it('what a running agent may write is stored as text and shown escaped', async () => {
    const t = job.pc02.token;
    expect((await agent(shell.url, 'POST', `${job.pc02.jobId}/log`, t, { body: `${MARKUP.join('\n')}\n\u001b[31m'; DROP TABLE clonage_actions; --\n`, headers: TEXT })).status).toBe(204);
    expect((await agent(shell.url, 'POST', `${job.pc02.jobId}/report`, t, { body: `[disk]\n${MARKUP[1]}\n`, headers: TEXT })).status).toBe(204);
    const page = await admin.send('GET', `${M}/actions/${cloneId}`);
    expect(page.status).toBe(200);
    for (const m of MARKUP) expect(page.text).not.toContain(m);
    expect(page.text).toContain('DROP TABLE'); // shown, as text
    expect(shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual({ n: 3 }); // the table is intact
    expect((shell.db.prepare('SELECT log FROM clonage_targets WHERE id = ?').get(job.pc02.jobId) as { log: string }).log).not.toContain('\u001b');
    for (const m of MARKUP) expect((await admin.send('GET', `${M}/reports`)).text).not.toContain(m);
  });

  it('emitter acknowledgement: no, wrong, foreign or misplaced tokens and hostile action ids change nothing; a replay is 410', async () => {
    const ack = (action: string, token: string | null, expected = [401, 403, 404], o: SendOptions = {}) =>
      http('POST', `${M}/api/emitter/ack?action=${encodeURIComponent(action)}`, { ...o, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...o.headers } }, expected);
    await ack(domainId, null, [401]);
    await ack(domainId, 'A'.repeat(43), [403]);
    await ack(domainId, emitter.postCloneToken, [403]);
    await ack(domainId, job.pc01.token, [403]);
    await ack(cloneId, emitter.ackToken, [404]);
    for (const p of [...ALL_STRINGS, ...TRAVERSAL]) await ack(p, emitter.ackToken, p === BIG ? [431] : [404]);
    await ack(domainId, emitter.ackToken, [413], { body: 'x'.repeat(2048), headers: { 'content-type': 'application/octet-stream' } });
    await ack(domainId, emitter.ackToken, [413], { body: 'x'.repeat(2 * 1024 * 1024), headers: FORM });
    expect((await raw(shell.url, 'POST', `${M}/api/emitter/ack?action=${domainId}`, { headers: { authorization: `Bearer ${emitter.ackToken}` } })).status).toBe(200);
    await until(() => targetStates(shell.db, domainId)['cdi-pc02'] === 'armed', 'domain clone armed after the ack');
    await until(() => shell.logLines.filter((l) => l.includes('"msg":"wake sent"')).length >= 7, 'domain clone woken');
    await until(() => removedEvent(shell.db, domainId), 'scripts removed');
    await http('POST', `${M}/api/emitter/ack?action=${domainId}`, { headers: { authorization: `Bearer ${emitter.ackToken}` } }, [409, 410]);
  });

  it('post-clone endpoints: no, wrong or ack tokens, hostile MACs and statuses are refused', async () => {
    const pc = (p: string, token: string | null, expected: number[], method = 'GET') =>
      http(method, `${M}/api/postclone/${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }, expected);
    for (const ep of ['name', 'join']) {
      await pc(`${ep}?mac=${MAC.cdi02}`, null, [401]);
      await pc(`${ep}?mac=${MAC.cdi02}`, 'A'.repeat(43), [403]);
      await pc(`${ep}?mac=${MAC.cdi02}`, emitter.ackToken, [403]);
      for (const m of [...BAD_MACS, ...ALL_STRINGS.slice(0, 6)]) await pc(`${ep}?mac=${encodeURIComponent(m)}`, emitter.postCloneToken, [400]);
      await pc(`${ep}?mac=${MAC.cdi02}&mac=${MAC.cdi01}`, emitter.postCloneToken, [400]);
    }
    await pc(`name?mac=${MAC.pc01}`, emitter.postCloneToken, [404]); // not a machine of the action
    await pc(`name?mac=${MAC.cdi02}`, emitter.postCloneToken, [404]); // has not fetched its job
    // The image's claim token is not a machine token: it never gets the join account nor reports.
    await pc(`join?mac=${MAC.cdi01}`, emitter.postCloneToken, [403]);
    await pc(`done?mac=${MAC.cdi01}&status=ok`, emitter.postCloneToken, [403], 'POST');
    await pc(`done?mac=${MAC.cdi01}&status=ok`, 'A'.repeat(43), [403], 'POST');
    // The emitter's own token (claimed with its name): hostile statuses are 400 and change nothing.
    const claimed = await raw(shell.url, 'GET', `${M}/api/postclone/name?mac=${MAC.cdi01}`, { headers: { authorization: `Bearer ${emitter.postCloneToken}` } });
    expect(claimed.status).toBe(200);
    for (const s of [...ALL_STRINGS.slice(0, 6), 'OK', '']) await pc(`done?mac=${MAC.cdi01}&status=${encodeURIComponent(s)}`, claimed.machineToken!, [400], 'POST');
    await pc(`join?mac=${MAC.cdi02}`, claimed.machineToken!, [403]); // another machine's token
  });

  it('image store: traversal and reserved file names, missing checksums, wrong roles and tokens are refused', async () => {
    const sha = { 'x-sha256': 'a'.repeat(64), 'content-type': 'application/octet-stream' };
    const j = job.pc04;
    // an authentic agent's call counts as news (updated_at) even when refused: compared without it
    const quiet = async (send: () => Promise<Reply>, expected: number[], label: string) => {
      const strip = (x: Record<string, unknown>) => JSON.stringify(x, (k, v) => (k === 'updated_at' ? undefined : v));
      const before = strip(snapshot(shell));
      const r = await send();
      expect([label, r.status, expected.includes(r.status)]).toEqual([label, r.status, true]);
      expect(strip(snapshot(shell))).toBe(before);
    };
    for (const f of [...TRAVERSAL.map(encodeURIComponent), '.hidden', 'commit', 'manifest', 'x.tmp', 'a'.repeat(101), encodeURIComponent('$(id)'), encodeURIComponent(';reboot'), '%A']) {
      await quiet(() => agent(shell.url, 'PUT', `${j.jobId}/image/${f}`, j.token, { body: 'x', headers: sha }), [400, 404], `PUT ${f}`);
      await quiet(() => agent(shell.url, 'GET', `${j.jobId}/image/${f}`, j.token), [400, 404, 409], `GET ${f}`);
    }
    await quiet(() => agent(shell.url, 'PUT', `${j.jobId}/image/sda1.000`, j.token, { body: 'x', headers: { 'content-type': 'application/octet-stream' } }), [400], 'no X-Sha256');
    await quiet(() => agent(shell.url, 'PUT', `${j.jobId}/image/sda1.000`, j.token, { body: 'x', headers: { ...sha, 'x-sha256': '$(id)' } }), [400], 'bad X-Sha256');
    await quiet(() => agent(shell.url, 'PUT', `${j.jobId}/image/sda1.000`, j.token, { body: 'x', headers: { ...sha, 'content-type': 'text/plain' } }), [400], 'not octet-stream');
    await call('PUT', `${j.jobId}/image/sda1.000`, null, { body: 'x', headers: sha }, [401]);
    await call('PUT', `${j.jobId}/image/sda1.000`, 'A'.repeat(43), { body: 'x', headers: sha }, [403]);
    await call('PUT', `${j.jobId}/image/sda1.000`, job.pc01.token, { body: 'x', headers: sha }, [403]);
    await quiet(() => agent(shell.url, 'PUT', `${job.pc02.jobId}/image/sda1.000`, job.pc02.token, { body: 'x', headers: sha }), [409], 'a clone receiver uploading');
    await quiet(() => agent(shell.url, 'GET', `${j.jobId}/image/manifest`, j.token), [409], 'a backup reading a manifest');
    await call('POST', `${j.jobId}/image/commit`, 'A'.repeat(43), { body: 'disk sda 1\n', headers: TEXT }, [403]);
    expect(shell.db.prepare('SELECT COUNT(*) AS n FROM clonage_backups').get()).toEqual({ n: 0 });
  });

  it('a report with markup in every parsed field is shown escaped on the machine page', async () => {
    const report = ['### disk sda', 'size=1000', '### sfdisk -d sda', 'label: dos',
      '/dev/sda1 : start= 2048, size= 100, type=<svg onload=HOSTILE()>, bootable',
      '### blkid', '/dev/sda1: LABEL="<script>HOSTILE()</script>" UUID="<b>x</b>" TYPE="<i>ext4</i>"', '### df',
      '/dev/sda1 100 50 50 50% sda1 <script>HOSTILE()</script>', ''].join('\n');
    expect((await agent(shell.url, 'POST', `${job.pc02.jobId}/report`, job.pc02.token, { body: report, headers: TEXT })).status).toBe(204);
    const page = await admin.send('GET', `${M}/reports/${MAC.pc02}`);
    expect(page.status).toBe(200);
    for (const m of [...MARKUP, '<script>HOSTILE()</script>', '<svg onload=HOSTILE()>', '<b>x</b>']) expect(page.text).not.toContain(m);
    expect(page.text).toContain('&lt;svg onload=HOSTILE()&gt;'); // parsed, and shown as text
  });

  it('HTTP boot: hostile MACs get the plain menu, traversal gets 404', async () => {
    for (const m of [...BAD_MACS, ...ALL_STRINGS, ...TRAVERSAL]) {
      // a 100 KB query string is refused by Node's HTTP parser itself (431)
      const r = await http('GET', `${M}/boot/ipxe?mac=${encodeURIComponent(m)}`, {}, m === BIG ? [431] : [200]);
      expect(checkBootFile(`ipxe?mac=${m.slice(0, 30)}`, r.text)).toEqual([]);
      expect(r.text).not.toContain('clonage.token=');
    }
    for (const p of [...TRAVERSAL.map((t) => `clonage/${t}`), `..%2f..%2f..%2fshell.sqlite/vmlinuz`, 'clonage/manifest.json', 'clonage/..%2fclonage%2fvmlinuz', '%2e%2e/vmlinuz', 'clonage%00/vmlinuz']) {
      await http('GET', `${M}/boot/files/${p}`, {}, [400, 404]);
    }
  });

  it('TFTP: traversal and hostile config names are refused with a TFTP error', async () => {
    const port = tftpPortOf(shell.logLines);
    for (const f of ['../shell.sqlite', '../../../etc/passwd', '/etc/passwd', 'pxelinux.cfg/../../shell.sqlite', 'pxelinux.cfg/01-;reboot', 'pxelinux.cfg/01-$(id)',
      'toolkits/../../../shell.sqlite', 'pxelinux.cfg/01-52-54-00-12-00-0B', 'pxelinux.cfg/default;reboot', 'modules\\..\\shell.sqlite']) {
      const r = await tftpGet(port, f);
      expect([f, typeof r === 'string' ? 'served' : 'error']).toEqual([f, 'error']);
    }
  });

  it('after all of it, no boot file carries a hostile value and tokens sit only in the armed MACs\' files', async () => {
    const files = await allBootFiles(shell, ['02:00:00:00:00:99']);
    const problems = Object.entries(files).flatMap(([name, text]) => checkBootFile(name, text));
    expect(problems).toEqual([]);
    const withToken = Object.entries(files).filter(([, t]) => t.includes('clonage.token=')).map(([n]) => n).sort();
    const armed = [MAC.pc01, MAC.pc03, MAC.cdi01, MAC.cdi02];
    expect(withToken).toEqual(armed.flatMap((m) => [`grub/mac/${m}.cfg`, `ipxe?mac=${m}`, `pxelinux.cfg/01-${m.replace(/:/g, '-')}`]).sort());
    expect(markersIn(JSON.stringify(files))).toEqual([]);
  });
});
