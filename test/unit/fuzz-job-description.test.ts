/**
 * Bounded fuzzing of the job description the shell agent reads without eval
 * (docs/agent-protocol.md): whatever pairs the renderer is handed, it either refuses them or emits
 * `key=value` lines whose values hold no newline, space, quote or shell character and read back
 * to the same pairs; and every parameter set the action parsers accept renders safely.
 */
import fc from 'fast-check';
import { InputError } from '../../src/common/domain/errors';
import { jobDescription, rebootAfter, renderKeyValues } from '../../src/agent/job-description';
import { parseActionParams } from '../../src/actions/params/action-params';
import { ACTION_TYPES, type ActionRow, type ActionType, type TargetRow } from '../../src/actions/model/action-types';

const LIMITS = { numRuns: 2000, interruptAfterTimeLimit: 9000 };
const LINE = /^[a-z_]+=[A-Za-z0-9._:/,@+-]*$/;
const FORBIDDEN = [' ', '\t', '\n', '\r', '"', "'", '`', '$', ';', '|', '&', '<', '>', '(', ')', '*', '?', '\\', '\0'];

function readBack(text: string): [string, string][] {
  return text.split('\n').slice(0, -1).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('fuzz: job description', () => {
  it('renderKeyValues: refuses, or writes safe lines that read back to the same pairs', () => {
    const key = fc.oneof(fc.stringMatching(/^[a-z_]{1,12}$/), fc.string({ maxLength: 12 }));
    const value = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:/,@+-]{0,30}$/), fc.string({ unit: 'binary', maxLength: 30 }), fc.integer(), fc.double(),
      fc.constantFrom('sda clonage.token=x', 'a\nrole=sender', "x'y", '$(id)', '`id`', 'a b'));
    let rendered = 0;
    fc.assert(fc.property(fc.array(fc.tuple(key, value), { maxLength: 8 }), (pairs) => {
      let text: string;
      try {
        text = renderKeyValues(pairs);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect(pairs.some(([k, v]) => !/^[a-z_]+$/.test(k) || !/^[A-Za-z0-9._:/,@+-]*$/.test(String(v)))).toBe(true);
        return;
      }
      rendered++;
      expect(text === '' || text.endsWith('\n')).toBe(true);
      for (const line of text.split('\n').slice(0, -1)) expect(line).toMatch(LINE);
      for (const [, v] of readBack(text)) for (const c of FORBIDDEN) expect(v.includes(c)).toBe(false);
      expect(readBack(text)).toEqual(pairs.map(([k, v]) => [k, String(v)]));
    }), LIMITS);
    expect(rendered).toBeGreaterThan(100);
  });

  it('every parameter set the action parsers accept renders a safe job description for every role', () => {
    const raw = fc.record({
      disk: fc.oneof(fc.constantFrom('sda', 'vdb', 'nvme0n1', 'mmcblk0', 'sda1', 'sda clonage.token=x', '/dev/sda', ''), fc.string({ maxLength: 12 })),
      compression: fc.oneof(fc.constantFrom('none', 'zstd', 'gzip', 'lzop', 'zstd;reboot'), fc.string({ maxLength: 6 })),
      image: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), fc.constantFrom('a b', '../x', 'img\nrole=sender', '$(id)', '')),
      min_receivers: fc.oneof(fc.integer({ min: -1, max: 5 }).map(String), fc.string({ maxLength: 4 })),
      min_wait: fc.oneof(fc.integer({ min: 0, max: 30 }).map(String), fc.constantFrom('1e1', '-1', '')),
      max_wait: fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constant('')),
      start_timeout: fc.oneof(fc.integer({ min: 0, max: 60 }).map(String), fc.constant('')),
      auto_reboot: fc.oneof(fc.constantFrom('never', 'success', 'always', 'always\n'), fc.string({ maxLength: 6 })),
      domain: fc.constantFrom(undefined, 'none', 'windows-domain', 'evil'),
    }, { requiredKeys: [] });
    let accepted = 0;
    fc.assert(fc.property(fc.constantFrom(...ACTION_TYPES) as fc.Arbitrary<ActionType>, raw, fc.integer({ min: 1, max: 5 }), (type, input, receivers) => {
      let params;
      try {
        params = parseActionParams(type, input, { receivers, now: new Date('2026-03-02T08:00:00Z') });
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return;
      }
      accepted++;
      const action = { id: 'a_x', type, params, port: type === 'clone' ? 9002 : null } as unknown as ActionRow;
      const roles = type === 'clone' ? ['sender', 'receiver'] : [type];
      for (const role of roles) {
        const text = jobDescription(action, { id: 'j_abc-DEF_123', role, name: 's101-pc01' } as unknown as TargetRow);
        for (const line of text.split('\n').slice(0, -1)) expect(line).toMatch(LINE);
        expect(text).toMatch(new RegExp(`^job=j_abc-DEF_123\\nrole=${role}\\nname=s101-pc01\\n`));
        expect(text).not.toContain('token');
      }
      expect(['always', 'never']).toContain(rebootAfter(params, 'failed'));
    }), LIMITS);
    expect(accepted).toBeGreaterThan(50);
  });
});
