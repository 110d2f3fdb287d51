/**
 * The post-clone service (name, join, done) and the clone `domain` parameter (SE3 type_os):
 * validation, default from `clone.domain`, wizard step 3 and summary.
 */
import path from 'node:path';
import ejs from 'ejs';
import { paramDefaultsFrom, parseActionParams } from '../../src/actions/params/action-params';
import { cloneDomainOf, parseCloneParams } from '../../src/actions/params/clone-params';
import { GoneError } from '../../src/agent/agent-jobs';
import { FIELDS_OF, formValues, inputFromForm, summaryOf } from '../../src/http/admin/wizard-form';
import { moduleTranslator } from '../../src/i18n/module-messages';
import { pageI18n } from '../../src/i18n/page-i18n';
import { ConflictError, ForbiddenError, InputError, NotFoundError, UnauthorizedError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import { MemorySettings } from '../helpers/fake-host';
import { admin, armedJob, MACS } from '../helpers/actions-fixtures';
import { domainClone, emitterRig, type EmitterRig, settle, tokensIn } from '../helpers/emitter-fixtures';
import { ModuleSettings } from '../../src/settings/module-settings';

describe('post-clone service', () => {
  let r: EmitterRig;
  let id: string;
  let token: string;
  let ack: string;
  beforeEach(async () => {
    r = emitterRig();
    ({ id } = await r.service.create(admin, domainClone()));
    await r.scheduler.tick();
    await settle(r);
    const tokens = tokensIn(r.dest);
    token = tokens.postClone;
    ack = tokens.ack;
    r.preparer.acknowledge(id, tokens.ack);
    await settle(r);
    await r.scheduler.idle();
  });
  afterEach(async () => {
    await r.preparer.suspend();
    r.host.cleanup();
  });

  const fetchJob = (name: string) => {
    const j = armedJob(r.bootPlans, name);
    r.agents.fetchJob(j.jobId, j.token);
    return j;
  };

  /** The reserved address of each lab machine: where its post-clone script calls from. */
  const IP: Record<string, string> = { pc01: '10.0.0.11', pc02: '10.0.0.12', pc03: '10.0.0.13' };
  const nameOf = (mac: string, t: string | undefined = token, from: string | null = IP[Object.keys(MACS).find((k) => MACS[k] === mac) ?? ''] ?? null) =>
    r.postClone.name(t, mac, from);

  it('gives the emitter and each receiver that received the image its own name and its own machine token', () => {
    expect(nameOf(MACS.pc01).name).toBe('pc01');
    // pc02 has not fetched its job yet: its disk was not written, it has no post-clone task.
    expect(() => nameOf(MACS.pc02)).toThrow(NotFoundError);
    fetchJob('pc02');
    fetchJob('pc03');
    const a = nameOf(MACS.pc02);
    const b = nameOf('02-00-00-00-00-03', token, IP.pc03);
    expect([a.name, b.name]).toEqual(['pc02', 'pc03']);
    expect(a.machineToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.machineToken).not.toBe(b.machineToken);
    // Only hashes are stored.
    expect(JSON.stringify(r.host.db.prepare('SELECT * FROM clonage_postclone_machines').all())).not.toContain(a.machineToken);
    // The name comes from the reservation as it is now.
    const dhcp = r.host.dhcp as unknown as { reservations: { mac: { toString(): string }; name: Hostname }[] };
    const res = dhcp.reservations.find((x) => x.mac.toString() === MACS.pc03)!;
    (res as { name: Hostname }).name = Hostname.parse('info-03');
    expect(nameOf(MACS.pc03).name).toBe('info-03');
  });

  it('refuses: no token 401, unknown or ack token 403, bad MAC 400, MAC outside the action 404', () => {
    expect(() => r.postClone.name(undefined, MACS.pc01, IP.pc01)).toThrow(UnauthorizedError);
    expect(() => nameOf(MACS.pc01, 'A'.repeat(43))).toThrow(ForbiddenError);
    expect(() => nameOf(MACS.pc01, ack)).toThrow(ForbiddenError);
    expect(() => nameOf(MACS.pc01, 'not a token')).toThrow(ForbiddenError);
    expect(() => nameOf('ff:ff:ff:ff:ff:ff')).toThrow(InputError);
    expect(() => r.postClone.name(token, ['a'], IP.pc01)).toThrow(InputError);
    expect(() => nameOf(MACS.pc04, token, '10.0.0.14')).toThrow(NotFoundError);
    expect(() => nameOf('0a:0b:0c:0d:0e:0f', token, '10.0.0.14')).toThrow(NotFoundError);
  });

  it('the claim works only from the machine\'s reserved address; the refusal is an event on the action', () => {
    expect(() => nameOf(MACS.pc01, token, '10.0.0.99')).toThrow(ForbiddenError);
    const ev = r.host.db.prepare("SELECT message FROM clonage_events WHERE message_key = 'event.postclone.wrongAddress'").all();
    expect(ev).toEqual([{ message: 'pc01: post-clone call refused from 10.0.0.99, expected 10.0.0.11' }]);
    const own = nameOf(MACS.pc01);
    expect(() => r.postClone.join(own.machineToken, MACS.pc01, '10.0.0.99')).toThrow(ForbiddenError);
    expect(r.postClone.join(own.machineToken, MACS.pc01, IP.pc01)).toBeNull();
  });

  it('stays valid after the clone succeeded, for postclone.validHours only', () => {
    for (const name of ['pc01', 'pc02', 'pc03']) {
      const j = fetchJob(name);
      r.agents.result(j.jobId, j.token, { status: 'succeeded', exit_code: '0' });
    }
    r.host.clock.advanceMinutes(60 * 71);
    const own = nameOf(MACS.pc02);
    expect(own.name).toBe('pc02');
    r.host.clock.advanceMinutes(61);
    expect(() => nameOf(MACS.pc02)).toThrow(GoneError);
    expect(() => r.postClone.join(own.machineToken, MACS.pc02, IP.pc02)).toThrow(GoneError);
  });

  it('cancelling the action (or its failure) revokes the claim and every machine token at once', async () => {
    fetchJob('pc02');
    const own = nameOf(MACS.pc02);
    await r.service.cancel(id, admin);
    expect(() => nameOf(MACS.pc01)).toThrow(GoneError);
    expect(() => r.postClone.join(own.machineToken, MACS.pc02, IP.pc02)).toThrow(GoneError);
    expect(() => r.postClone.done(own.machineToken, MACS.pc02, 'ok', IP.pc02)).toThrow(GoneError);
  });

  it('join: only with the machine\'s own token, once; nothing configured → null; partial → error', () => {
    fetchJob('pc02');
    const pc01 = nameOf(MACS.pc01);
    const pc02 = nameOf(MACS.pc02);
    expect(r.postClone.join(pc01.machineToken, MACS.pc01, IP.pc01)).toBeNull();
    r.host.settings.set('postclone.join.domain', 'SAMBAEDU');
    expect(() => r.postClone.join(pc01.machineToken, MACS.pc01, IP.pc01)).toThrow(InputError);
    r.host.settings.set('postclone.join.username', 'joiner');
    r.host.settings.set('postclone.join.password', 'S3cret pass');
    expect(() => r.postClone.join(token, MACS.pc01, IP.pc01)).toThrow(ForbiddenError); // the image's claim token
    expect(() => r.postClone.join(pc02.machineToken, MACS.pc01, IP.pc01)).toThrow(ForbiddenError); // another machine's
    expect(r.postClone.join(pc01.machineToken, MACS.pc01, IP.pc01)).toEqual({ domain: 'SAMBAEDU', username: 'joiner', password: 'S3cret pass' });
    expect(() => r.postClone.join(pc01.machineToken, MACS.pc01, IP.pc01)).toThrow(ConflictError);
    expect(r.host.db.prepare("SELECT COUNT(*) AS n FROM clonage_events WHERE message_key = 'event.postclone.joinAgain'").get()).toEqual({ n: 1 });
    // A new claim (a script that crashed after `name`) does not give the account again.
    const again = nameOf(MACS.pc01);
    expect(() => r.postClone.join(again.machineToken, MACS.pc01, IP.pc01)).toThrow(ConflictError);
    expect(() => r.postClone.join(pc01.machineToken, MACS.pc01, IP.pc01)).toThrow(ForbiddenError); // replaced
    expect(() => r.postClone.join(undefined, MACS.pc01, IP.pc01)).toThrow(UnauthorizedError);
    expect(r.host.logger.lines.join('\n')).not.toContain('S3cret');
    const s = new MemorySettings({ 'postclone.join.domain': 'D', 'postclone.join.username': 'u', 'postclone.join.password': 'a\nb' });
    expect(() => new ModuleSettings(s).join()).toThrow(InputError);
  });

  it('done records one event per machine; a bad status is 400; the machine token is dead afterwards', () => {
    const own = nameOf(MACS.pc01);
    expect(() => r.postClone.done(own.machineToken, MACS.pc01, 'maybe', IP.pc01)).toThrow(InputError);
    r.postClone.done(own.machineToken, MACS.pc01, 'ok', IP.pc01);
    expect(() => r.postClone.done(own.machineToken, MACS.pc01, 'ok', IP.pc01)).toThrow(GoneError);
    expect(() => nameOf(MACS.pc01)).toThrow(GoneError);
    const msgs = (r.host.db.prepare('SELECT message FROM clonage_events WHERE action_id = ?').all(id) as { message: string }[]).map((e) => e.message);
    expect(msgs.filter((m) => m.includes('pc01: post-clone done'))).toHaveLength(1);
  });
});

describe('clone parameter domain (SE3 type_os)', () => {
  const NOW = new Date('2025-03-10T08:00:00Z');

  it('defaults to none (not stored), accepts windows-domain, refuses anything else on the field', () => {
    const none = parseCloneParams({}, 2);
    expect(cloneDomainOf(none)).toBe('none');
    expect('domain' in none).toBe(false);
    const domain = parseCloneParams({ domain: 'windows-domain' }, 2);
    expect(domain).toMatchObject({ domain: 'windows-domain' });
    expect(cloneDomainOf(domain)).toBe('windows-domain');
    expect(cloneDomainOf(parseCloneParams({ domain: 'none' }, 2))).toBe('none');
    for (const bad of ['xp', 'WINDOWS-DOMAIN', 'autre', ['none']]) {
      try {
        parseCloneParams({ domain: bad }, 2);
        throw new Error('accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        expect((e as InputError).field).toBe('domain');
      }
    }
    expect(cloneDomainOf(parseActionParams('backup', { domain: 'windows-domain' }, { receivers: 1, now: NOW }))).toBe('none');
  });

  it('takes its default from the clone.domain setting (a bad value falls back to none)', () => {
    const s = new MemorySettings({ 'clone.domain': 'windows-domain' });
    expect(paramDefaultsFrom(new ModuleSettings(s)).domain).toBe('windows-domain');
    expect(cloneDomainOf(parseCloneParams({}, 1, paramDefaultsFrom(new ModuleSettings(s))))).toBe('windows-domain');
    expect(paramDefaultsFrom(new ModuleSettings(new MemorySettings({ 'clone.domain': 'xp' }))).domain).toBe('none');
    expect(paramDefaultsFrom(new ModuleSettings(new MemorySettings({}))).domain).toBe('none');
  });

  it('is a clone field of the wizard: form value, input, summary row, step 3 select', async () => {
    expect(FIELDS_OF.clone).toContain('domain');
    expect(FIELDS_OF.backup).not.toContain('domain');
    const defaults = paramDefaultsFrom(new ModuleSettings(new MemorySettings({ 'clone.domain': 'windows-domain' })));
    expect(formValues({}, defaults, 2).domain).toBe('windows-domain');
    expect(formValues({ domain: 'none' }, defaults, 2).domain).toBe('none');
    expect(inputFromForm({ type: 'clone', domain: 'windows-domain' }).params).toMatchObject({ domain: 'windows-domain' });
    const target = (name: string, role: 'sender' | 'receiver') => ({ name, role, ip: '10.0.0.11', mac: MACS.pc01 }) as never;
    const request = { type: 'clone', params: parseCloneParams({ domain: 'windows-domain' }, 1), targets: [target('pc01', 'sender'), target('pc02', 'receiver')], parcs: ['salle1'], timing: { kind: 'now' } } as never;
    expect(summaryOf(request, moduleTranslator('fr'), (d) => d.toISOString())).toContainEqual({ label: 'Domaine', value: expect.stringContaining('Windows intégré au domaine') });
    const html = await ejs.renderFile(path.resolve(__dirname, '../../pages/wizard.ejs'), {
      step: 3, base: '/m', parcs: [], chosen: ['salle1'], machines: [], selection: { type: 'clone', parcs: ['salle1'], emitter: 'pc01', machines: ['pc02'] },
      fields: FIELDS_OF.clone, canRecur: false, values: formValues({}, defaults, 1), errors: { domain: 'domain: expected one of none, windows-domain' }, summary: [], csrfToken: 't', ...pageI18n('fr'),
    });
    expect(html).toMatch(/<select name="domain" aria-invalid="true" aria-describedby="err-domain">/);
    expect(html).toMatch(/<option value="windows-domain" selected>Windows intégré au domaine/);
    expect(html).toContain('<option value="none">Linux ou Windows hors domaine');
    expect(html).toContain('id="err-domain"');
  });
});
