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
import { ForbiddenError, InputError, NotFoundError, UnauthorizedError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import { joinCredentialsFrom } from '../../src/emitter/emitter-settings';
import { MemorySettings } from '../helpers/fake-host';
import { admin, armedJob, MACS } from '../helpers/actions-fixtures';
import { domainClone, emitterRig, type EmitterRig, settle, tokensIn } from '../helpers/emitter-fixtures';

describe('post-clone service', () => {
  let r: EmitterRig;
  let id: string;
  let token: string;
  let ack: string;
  beforeEach(async () => {
    r = emitterRig();
    ({ id } = await r.service.create(admin, domainClone()));
    await r.service.tick();
    await settle(r);
    const tokens = tokensIn(r.dest);
    token = tokens.postClone;
    ack = tokens.ack;
    r.preparer.acknowledge(id, tokens.ack);
    await settle(r);
    await r.service.idle();
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

  it('gives the emitter and each receiver that received the image its own reservation name', () => {
    expect(r.postClone.name(token, MACS.pc01)).toBe('pc01');
    // pc02 has not fetched its job yet: its disk was not written, it has no post-clone task.
    expect(() => r.postClone.name(token, MACS.pc02)).toThrow(NotFoundError);
    fetchJob('pc02');
    fetchJob('pc03');
    expect(r.postClone.name(token, MACS.pc02)).toBe('pc02');
    expect(r.postClone.name(token, '02-00-00-00-00-03')).toBe('pc03');
    // The name comes from the reservation as it is now.
    const dhcp = r.host.dhcp as unknown as { reservations: { mac: { toString(): string }; name: Hostname }[] };
    const res = dhcp.reservations.find((x) => x.mac.toString() === MACS.pc03)!;
    (res as { name: Hostname }).name = Hostname.parse('info-03');
    expect(r.postClone.name(token, MACS.pc03)).toBe('info-03');
  });

  it('refuses: no token 401, unknown or ack token 403, bad MAC 400, MAC outside the action 404', () => {
    expect(() => r.postClone.name(undefined, MACS.pc01)).toThrow(UnauthorizedError);
    expect(() => r.postClone.name('A'.repeat(43), MACS.pc01)).toThrow(ForbiddenError);
    expect(() => r.postClone.name(ack, MACS.pc01)).toThrow(ForbiddenError);
    expect(() => r.postClone.name('not a token', MACS.pc01)).toThrow(ForbiddenError);
    expect(() => r.postClone.name(token, 'ff:ff:ff:ff:ff:ff')).toThrow(InputError);
    expect(() => r.postClone.name(token, ['a'])).toThrow(InputError);
    expect(() => r.postClone.name(token, MACS.pc04)).toThrow(NotFoundError);
    expect(() => r.postClone.name(token, '0a:0b:0c:0d:0e:0f')).toThrow(NotFoundError);
  });

  it('stays valid after the clone succeeded, for postclone.validHours only', () => {
    for (const name of ['pc01', 'pc02', 'pc03']) {
      const j = fetchJob(name);
      r.agents.result(j.jobId, j.token, { status: 'succeeded', exit_code: '0' });
    }
    r.host.clock.advanceMinutes(60 * 71);
    expect(r.postClone.name(token, MACS.pc02)).toBe('pc02');
    r.host.clock.advanceMinutes(61);
    expect(() => r.postClone.name(token, MACS.pc02)).toThrow(GoneError);
  });

  it('join: nothing configured → null (rename only); configured → the account; partial → error', () => {
    expect(r.postClone.join(token, MACS.pc01)).toBeNull();
    r.host.settings.set('postclone.join.domain', 'SAMBAEDU');
    expect(() => r.postClone.join(token, MACS.pc01)).toThrow(InputError);
    r.host.settings.set('postclone.join.username', 'joiner');
    r.host.settings.set('postclone.join.password', 'S3cret pass');
    expect(r.postClone.join(token, MACS.pc01)).toEqual({ domain: 'SAMBAEDU', username: 'joiner', password: 'S3cret pass' });
    expect(() => r.postClone.join(undefined, MACS.pc01)).toThrow(UnauthorizedError);
    expect(r.host.logger.lines.join('\n')).not.toContain('S3cret');
    const s = new MemorySettings({ 'postclone.join.domain': 'D', 'postclone.join.username': 'u', 'postclone.join.password': 'a\nb' });
    expect(() => joinCredentialsFrom(s)).toThrow(InputError);
  });

  it('done records one event per machine and status; a bad status is 400', () => {
    r.postClone.done(token, MACS.pc01, 'ok');
    r.postClone.done(token, MACS.pc01, 'ok');
    expect(() => r.postClone.done(token, MACS.pc01, 'maybe')).toThrow(InputError);
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
    expect(paramDefaultsFrom(s).domain).toBe('windows-domain');
    expect(cloneDomainOf(parseCloneParams({}, 1, paramDefaultsFrom(s)))).toBe('windows-domain');
    expect(paramDefaultsFrom(new MemorySettings({ 'clone.domain': 'xp' })).domain).toBe('none');
    expect(paramDefaultsFrom(new MemorySettings({})).domain).toBe('none');
  });

  it('is a clone field of the wizard: form value, input, summary row, step 3 select', async () => {
    expect(FIELDS_OF.clone).toContain('domain');
    expect(FIELDS_OF.backup).not.toContain('domain');
    const defaults = paramDefaultsFrom(new MemorySettings({ 'clone.domain': 'windows-domain' }));
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
