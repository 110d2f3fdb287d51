import {
  checkServerUrl,
  jobPlan,
  localPlan,
  menuPlan,
  type JobBootPlan,
} from '../../src/boot/boot-plan';
import { CONSOLE_ARGS, jobKernelArgs, manualKernelArgs } from '../../src/boot/kernel-args';
import { InputError } from '../../src/common/domain/errors';
import { newToken, TOKEN_PATTERN } from '../../src/agent/job-identity';

const TOKEN = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c';
const good = { jobId: 'j_4f9c2a', token: TOKEN, toolkit: 'bootenv', label: 'clonage-receiver' };

/** Characters that would split or extend a kernel argument, a config line or an iPXE line. */
const HOSTILE = [' ', '"', "'", '\n', '\r', '\t', ';', '$', '{', '}', '`', '\\', '&', '|', '\u0000', 'é'];

describe('jobPlan', () => {
  it('builds a frozen job plan from valid values', () => {
    const p = jobPlan(good);
    expect(p).toEqual({ kind: 'job', ...good });
    expect(Object.isFrozen(p)).toBe(true);
  });

  it.each(['jobId', 'token', 'toolkit', 'label'] as const)('rejects every separator or quote in %s', (field) => {
    for (const ch of HOSTILE) {
      const value = field === 'token' ? `${TOKEN.slice(0, 21)}${ch}${TOKEN.slice(22)}` : `${good[field]}${ch}x`;
      expect(() => jobPlan({ ...good, [field]: value })).toThrow(InputError);
    }
  });

  it.each([
    ['jobId', 'x'.repeat(65)],
    ['jobId', ''],
    ['token', TOKEN.slice(1)],
    ['token', `${TOKEN}A`],
    ['token', TOKEN.replace('q', '+')],
    ['toolkit', 'BootEnv'],
    ['toolkit', '..'],
    ['toolkit', 'a.b'],
    ['toolkit', '-x'],
    ['label', 'clonage receiver'],
    ['jobId', 42],
    ['token', null],
  ])('rejects %s = %p', (field, value) => {
    expect(() => jobPlan({ ...good, [field]: value })).toThrow(InputError);
  });

  it('never echoes a rejected token in the error message', () => {
    const secretish = `${TOKEN.slice(0, 42)} `;
    try {
      jobPlan({ ...good, token: secretish });
      throw new Error('should have thrown');
    } catch (err) {
      expect((err as Error).message).not.toContain(TOKEN.slice(0, 20));
    }
  });

  it('local and menu plans carry nothing else', () => {
    expect(localPlan()).toEqual({ kind: 'local' });
    expect(menuPlan()).toEqual({ kind: 'menu' });
  });
});

describe('newToken (the one token generator, src/agent/job-identity.ts)', () => {
  it('is 43 base64url characters, fresh every time, and a valid plan token', () => {
    const a = newToken();
    expect(a).toMatch(TOKEN_PATTERN);
    expect(newToken()).not.toBe(a);
    expect(() => jobPlan({ ...good, token: a })).not.toThrow();
  });
});

describe('checkServerUrl', () => {
  it.each([
    ['http://10.77.0.1:8080/modules/clonage', 'http://10.77.0.1:8080/modules/clonage'],
    ['https://se3.lycee.fr/modules/clonage/', 'https://se3.lycee.fr/modules/clonage'],
    ['http://10.0.0.1', 'http://10.0.0.1'],
  ])('accepts %s', (input, out) => {
    expect(checkServerUrl(input)).toBe(out);
  });

  it.each([
    ['a space', 'http://10.0.0.1/a b'],
    ['a double quote', 'http://10.0.0.1/a"b'],
    ['a single quote', "http://10.0.0.1/a'b"],
    ['a newline', 'http://10.0.0.1/a\nAPPEND init=/bin/sh'],
    ['a semicolon', 'http://10.0.0.1/a;b'],
    ['an iPXE expansion', 'http://10.0.0.1/${password}'],
    ['credentials', 'http://user:pw@10.0.0.1/'],
    ['a query', 'http://10.0.0.1/x?a=b'],
    ['a fragment', 'http://10.0.0.1/x#y'],
    ['another scheme', 'ftp://10.0.0.1/'],
    ['a dot-dot segment', 'http://10.0.0.1/a/../b'],
    ['a bad port', 'http://10.0.0.1:99999/'],
    ['too long', `http://10.0.0.1/${'a'.repeat(200)}`],
    ['nothing', ''],
  ])('rejects %s', (_why, url) => {
    expect(() => checkServerUrl(url)).toThrow(InputError);
  });
});

describe('kernel arguments', () => {
  const server = 'http://10.77.0.1:8080/modules/clonage';

  it('a job carries only server, job, token and console arguments', () => {
    expect(jobKernelArgs(server, jobPlan(good))).toEqual([
      `clonage.server=${server}`,
      'clonage.job=j_4f9c2a',
      `clonage.token=${TOKEN}`,
      ...CONSOLE_ARGS,
    ]);
  });

  it('a manual boot carries only server and mode', () => {
    expect(manualKernelArgs(server, 'restore')).toEqual([`clonage.server=${server}`, 'clonage.manual=restore', ...CONSOLE_ARGS]);
    expect(() => manualKernelArgs(server, 'format' as never)).toThrow();
  });

  it('re-checks a plan that bypassed the constructor (defence in depth)', () => {
    const forged = { ...jobPlan(good), jobId: 'x init=/bin/sh' } as JobBootPlan;
    expect(() => jobKernelArgs(server, forged)).toThrow(/unsafe kernel argument/);
    const forgedToken = { ...jobPlan(good), token: `${TOKEN}\nLABEL x` } as JobBootPlan;
    expect(() => jobKernelArgs(server, forgedToken)).toThrow(/unsafe kernel argument/);
  });

  it('rejects a hostile server URL', () => {
    expect(() => jobKernelArgs('http://10.0.0.1/ rdinit=/bin/sh', jobPlan(good))).toThrow(InputError);
  });
});
