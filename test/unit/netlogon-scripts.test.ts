import path from 'node:path';
import { InputError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import {
  emitterFiles, type EmitterScriptInput, parseScriptBaseUrl, parseShareDir, renderEmitterScript, renderPostCloneScript, renderStartupHook,
} from '../../src/emitter/emitter-scripts';
import { loadNetlogonTemplates, NETLOGON_TEMPLATES, placeholdersOf, renderTemplate, TemplateError } from '../../src/emitter/netlogon-template';
import { expectGolden } from '../helpers/golden';

const templates = loadNetlogonTemplates(path.resolve(__dirname, '..', '..'));
const ACK = 'AckTokenAckTokenAckTokenAckTokenAckToken123';
const POST = 'PostCloneTokenPostCloneTokenPostCloneToken';
const input: EmitterScriptInput = {
  baseUrl: 'http://10.77.0.1:8080/modules/clonage',
  actionId: 'a_Xy12-_z',
  machine: Hostname.parse('pc-info-07'),
  ackToken: ACK,
  postCloneToken: POST,
};

describe('netlogon templates', () => {
  it.each(NETLOGON_TEMPLATES)('%s is committed with CRLF only, in ASCII', (name) => {
    const t = templates[name];
    expect(t.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(t).toMatch(/^[\x09\x0a\x0d\x20-\x7e]*$/);
  });

  it('declare the placeholders the renderers fill', () => {
    expect(placeholdersOf(templates['clonage-emitter.cmd'])).toEqual(['ACK_TOKEN', 'ACTION_ID', 'BASE_URL', 'MACHINE', 'REBOOT_DELAY', 'UEFI_PXE_ONCE']);
    expect(placeholdersOf(templates['clonage-postclone.ps1'])).toEqual(['ACTION_ID', 'BASE_URL', 'POSTCLONE_TOKEN']);
    expect(placeholdersOf(templates['clonage-startup.cmd'])).toEqual(['NETLOGON_UNC']);
  });
});

describe('renderers (golden files)', () => {
  it('emitter preparation script', () => {
    const out = renderEmitterScript(templates, input);
    expectGolden('netlogon/clonage-emitter.cmd', out);
    expect(out).toContain('set "CLONAGE_REBOOT_DELAY=5"');
    expect(out).toContain('set "CLONAGE_UEFI_PXE_ONCE=0"');
    expect(out).toContain('/api/emitter/ack?action=%CLONAGE_ACTION%');
    expect(out).toContain('Authorization: Bearer %CLONAGE_TOKEN%');
    expect(out).not.toContain(POST);
  });

  it('emitter preparation script with UEFI one-time network boot and another delay', () => {
    const out = renderEmitterScript(templates, { ...input, uefiPxeOnce: true, rebootDelaySeconds: 30 });
    expectGolden('netlogon/clonage-emitter-uefi.cmd', out);
    expect(out).toContain('set "CLONAGE_UEFI_PXE_ONCE=1"');
  });

  it('post-clone script: the post-clone token only, never the acknowledgement token', () => {
    const out = renderPostCloneScript(templates, input);
    expectGolden('netlogon/clonage-postclone.ps1', out);
    expect(out).toContain(`$Token = '${POST}'`);
    expect(out).not.toContain(ACK);
  });

  it('startup hook', () => {
    const out = renderStartupHook(templates, { server: 'se3', share: 'netlogon', baseDir: 'machine' });
    expectGolden('netlogon/clonage-startup.cmd', out);
    expect(out).toContain('set "CLONAGE_SCRIPT=\\\\se3\\netlogon\\machine\\%COMPUTERNAME%\\clonage-emitter.cmd"');
  });

  it('emitterFiles gives both files under the names the emitter script expects', () => {
    const files = emitterFiles(templates, input);
    expect(files.map((f) => f.name)).toEqual(['clonage-emitter.cmd', 'clonage-postclone.ps1']);
    expect(files[0].content).toContain('%~dp0clonage-postclone.ps1');
  });

  it('no password-like value anywhere: nothing but the two tokens is secret', () => {
    const all = emitterFiles(templates, input).map((f) => f.content).join('\n');
    expect(all).not.toMatch(/adminse3|xppass|password\s*=\s*\S/i);
  });
});

describe('validation of values that land in scripts', () => {
  it.each([
    ['http://10.77.0.1:8080/x"&calc', 'baseUrl'],
    ['http://10.77.0.1/%COMSPEC%', 'baseUrl'],
    ["http://10.77.0.1/a'b", 'baseUrl'],
    ['http://10.77.0.1/?a=1&b=2', 'baseUrl'],
    ['ftp://10.77.0.1', 'baseUrl'],
    ['http://10.77.0.1:99999', 'baseUrl'],
    ['a^b', 'actionId'],
    ['a!b', 'actionId'],
    ['', 'actionId'],
    ['short', 'ackToken'],
    ['x'.repeat(40) + '%', 'ackToken'],
    ['y'.repeat(40) + "'", 'postCloneToken'],
  ])('refuses %p as %s', (value, field) => {
    expect(() => emitterFiles(templates, { ...input, [field]: value })).toThrow(InputError);
  });

  it('refuses the same token twice, bad delays and bad machine names', () => {
    expect(() => renderEmitterScript(templates, { ...input, postCloneToken: ACK })).toThrow(/must differ/);
    expect(() => renderEmitterScript(templates, { ...input, rebootDelaySeconds: 601 })).toThrow(InputError);
    expect(() => renderEmitterScript(templates, { ...input, machine: 'pc&del' as unknown as Hostname })).toThrow(InputError);
  });

  it('normalises a trailing slash of the base URL', () => {
    expect(parseScriptBaseUrl('https://clonage.lycee.fr/modules/clonage/')).toBe('https://clonage.lycee.fr/modules/clonage');
  });

  it.each(['../x', 'a/../b', 'a b', 'a;b', 'a"b', '.hidden'])('share folder %p is refused', (d) => {
    expect(() => parseShareDir(d)).toThrow(InputError);
  });

  it('share folders split on either separator', () => {
    expect(parseShareDir('Windows\\System32/GroupPolicy')).toEqual(['Windows', 'System32', 'GroupPolicy']);
    expect(parseShareDir('')).toEqual([]);
  });
});

describe('renderTemplate', () => {
  it('converts to CRLF and fills every placeholder', () => {
    expect(renderTemplate('a {{X}}\nb {{Y}}\r\n', { X: '1', Y: '2' })).toBe('a 1\r\nb 2\r\n');
  });
  it('refuses missing and unused values, and non-ASCII output', () => {
    expect(() => renderTemplate('{{X}}', {})).toThrow(TemplateError);
    expect(() => renderTemplate('{{X}}', { X: '1', Z: '2' })).toThrow(TemplateError);
    expect(() => renderTemplate('{{X}}', { X: 'é' })).toThrow(TemplateError);
    expect(() => renderTemplate('{{X}}', { X: 'a\nb' })).toThrow(TemplateError);
    expect(() => renderTemplate('é {{X}}', { X: 'a' })).toThrow(TemplateError);
  });
});
