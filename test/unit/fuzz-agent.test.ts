/**
 * Bounded fuzzing (fast-check, ≤ 2000 runs and ≤ 10 s each) of what agents send: the progress,
 * log, result and report calls of ActionService on a real SQLite file. Properties: only typed
 * errors come out; a refused call changes nothing; what is accepted is stored within its bounds;
 * the result parser agrees with an independent model of docs/agent-protocol.md.
 */
import fc from 'fast-check';
import { ClonageError, ConflictError, ForbiddenError, InputError, NotFoundError, UnauthorizedError } from '../../src/common/domain/errors';
import { GoneError, MAX_AGENT_TEXT_BYTES } from '../../src/agent/agent-jobs';
import { admin, armedJob, cloneInput, dbSnapshot, rig, type Rig, targetOf } from '../helpers/actions-fixtures';
import { expectUnchanged } from '../helpers/unchanged';

const LIMITS = { numRuns: 500, interruptAfterTimeLimit: 8000 };
const FIELD_NAMES = ['stage', 'percent', 'bytes', 'rate_kbps', 'status', 'exit_code', 'message', 'other'];

/** Values as the shell's body parsers can hand them over (urlencoded and JSON). */
const anyValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^ ?-?\d{0,18}(\.\d{0,8})?(e\d)? ?$/),
  fc.constantFrom('NaN', 'Infinity', '-0', '0x1f', '1e3', '100', '100.0000001', 'succeeded', 'failed', ' succeeded ', '$(id)', ';reboot', 'a\nb'),
  fc.double(), fc.integer(), fc.boolean(), fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
const anyFields = fc.dictionary(fc.constantFrom(...FIELD_NAMES), anyValue, { maxKeys: 6 });

/** Independent reading of the protocol: the single value of a field, or why it is refused. */
function single(v: unknown): string | undefined | 'refused' {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') return 'refused';
  return String(v).trim();
}
function intIn(s: string | undefined | 'refused', min: number, max: number): boolean {
  if (s === undefined) return true;
  return s !== 'refused' && /^-?\d{1,16}$/.test(s) && Number(s) >= min && Number(s) <= max;
}
function resultValid(f: Record<string, unknown>): boolean {
  const status = single(f.status);
  const message = single(f.message);
  return (status === 'succeeded' || status === 'failed') && intIn(single(f.exit_code), -2147483648, 2147483647) &&
    message !== 'refused' && (message === undefined || Buffer.byteLength(message) <= 4096);
}

describe('fuzz: agent calls', () => {
  let r: Rig;
  let running: { jobId: string; token: string };
  let armed: { jobId: string; token: string };
  let finished: { jobId: string; token: string };
  // a fresh database per property keeps the before/after snapshots small
  beforeEach(async () => {
    r = rig();
    await r.service.create(admin, cloneInput({ receivers: ['pc02', 'pc03', 'pc04'] }));
    await r.scheduler.tick(r.host.clock.now());
    running = armedJob(r.bootPlans, 'pc02');
    armed = armedJob(r.bootPlans, 'pc03');
    finished = armedJob(r.bootPlans, 'pc04');
    r.agents.fetchJob(running.jobId, running.token);
    r.agents.fetchJob(finished.jobId, finished.token);
    r.agents.result(finished.jobId, finished.token, { status: 'failed', exit_code: '3' });
  });
  afterEach(() => r.host.cleanup());

  /** Runs a call: 'ok', or the class of the typed error; anything else fails the property. */
  function outcome(f: () => unknown): string {
    try {
      f();
      return 'ok';
    } catch (e) {
      if (!(e instanceof ClonageError)) throw e;
      return e.constructor.name;
    }
  }

  it('progress: only InputError for bad fields, nothing changed then; accepted values are stored within bounds', () => {
    fc.assert(fc.property(anyFields, (fields) => {
      const before = dbSnapshot(r.host);
      const out = outcome(() => r.agents.progress(running.jobId, running.token, fields));
      if (out !== 'ok') {
        expect(out).toBe('InputError');
        expectUnchanged(dbSnapshot(r.host), before);
        return;
      }
      const row = targetOf(r.host, running.jobId) as { stage: string | null; percent: number | null; bytes: number | null; rate_kbps: number | null };
      if (row.stage !== null) expect(row.stage).toMatch(/^[a-z0-9_-]{1,32}$/);
      if (row.percent !== null) expect(row.percent >= 0 && row.percent <= 100).toBe(true);
      if (row.bytes !== null) expect(Number.isSafeInteger(row.bytes) && row.bytes >= 0).toBe(true);
      if (row.rate_kbps !== null) expect(Number.isInteger(row.rate_kbps) && row.rate_kbps >= 0 && row.rate_kbps <= 1e9).toBe(true);
    }), LIMITS);
  });

  it('progress: well-formed values are always accepted and stored as sent', () => {
    const valid = fc.record({
      stage: fc.stringMatching(/^[a-z0-9_-]{1,32}$/),
      percent: fc.integer({ min: 0, max: 100_000_000 }).map((n) => (n / 1_000_000).toFixed(6)),
      bytes: fc.maxSafeNat().map(String),
      rate_kbps: fc.integer({ min: 0, max: 1e9 }).map(String),
    });
    fc.assert(fc.property(valid, (fields) => {
      // Each new stage is an event; the per-job event cap has its own test (agent-sessions.test.ts).
      r.host.db.prepare('DELETE FROM clonage_events WHERE target_id = ?').run(running.jobId);
      r.agents.progress(running.jobId, running.token, fields);
      const row = targetOf(r.host, running.jobId);
      expect([row.stage, row.percent, row.bytes, row.rate_kbps]).toEqual([fields.stage, Number(fields.percent), Number(fields.bytes), Number(fields.rate_kbps)]);
    }), { ...LIMITS, numRuns: 300 });
  });

  it('any call with a token that is not the job\'s is refused by a typed error and changes nothing', () => {
    const token = fc.oneof(fc.string({ maxLength: 60 }), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.constant(armed.token), fc.constant(undefined));
    const jobId = fc.oneof(fc.constant(running.jobId), fc.constant(armed.jobId), fc.string({ maxLength: 70 }), fc.constantFrom('../../etc/passwd', 'j_', ''));
    const call = fc.constantFrom('fetchJob', 'progress', 'log', 'result', 'report');
    fc.assert(fc.property(call, jobId, token, anyFields, (c, j, t, fields) => {
      fc.pre(!(j === armed.jobId && t === armed.token));
      const before = dbSnapshot(r.host);
      const out = outcome(() => {
        if (c === 'fetchJob') r.agents.fetchJob(j, t);
        else if (c === 'progress' || c === 'result') r.agents[c](j, t, fields);
        else r.agents[c](j, t, 'text');
      });
      expect(['InputError', 'UnauthorizedError', 'ForbiddenError', 'NotFoundError']).toContain(out);
      expectUnchanged(dbSnapshot(r.host), before);
    }), LIMITS);
  });

  it('log and report: any body is refused (InputError) or kept bounded, without control characters', () => {
    const body = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.integer({ min: 60_000, max: 70_000 }).map((n) => 'é'.repeat(n / 2) + '\u0000'), fc.constant(Buffer.from('x')), fc.constant({ a: 1 }), fc.constant(null),
    );
    fc.assert(fc.property(fc.constantFrom('log', 'report') as fc.Arbitrary<'log' | 'report'>, body, (kind, text) => {
      const before = dbSnapshot(r.host);
      const out = outcome(() => r.agents[kind](running.jobId, running.token, text));
      if (out !== 'ok') {
        expect(out).toBe('InputError');
        expectUnchanged(dbSnapshot(r.host), before);
        return;
      }
      const stored = kind === 'log'
        ? String(targetOf(r.host, running.jobId).log)
        : (r.host.db.prepare('SELECT content FROM clonage_reports ORDER BY id DESC LIMIT 1').get() as { content: string }).content;
      expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(MAX_AGENT_TEXT_BYTES);
      expect(stored).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      r.host.db.exec(`DELETE FROM clonage_reports; DELETE FROM clonage_events; UPDATE clonage_targets SET log = ''`);
    }), { ...LIMITS, numRuns: 400 });
  });

  it('result on a finished job: InputError exactly when the fields are malformed, else Gone (410); never a change', () => {
    fc.assert(fc.property(anyFields, (fields) => {
      const before = dbSnapshot(r.host);
      let err: unknown = null;
      try {
        r.agents.result(finished.jobId, finished.token, fields);
      } catch (e) {
        err = e;
      }
      expect(err instanceof GoneError || err instanceof InputError).toBe(true);
      expect([JSON.stringify(fields), err instanceof GoneError]).toEqual([JSON.stringify(fields), resultValid(fields)]);
      expectUnchanged(dbSnapshot(r.host), before);
    }), LIMITS);
  });

  it('the armed job stays armed and fetchable whatever was tried against it', () => {
    fc.assert(fc.property(anyFields, fc.string({ maxLength: 50 }), (fields, t) => {
      for (const c of ['progress', 'result'] as const) outcome(() => r.agents[c](armed.jobId, t, fields));
      outcome(() => r.agents.fetchJob(armed.jobId, t));
    }), { ...LIMITS, numRuns: 200 });
    expect(targetOf(r.host, armed.jobId).state).toBe('armed');
    expect(() => r.agents.progress(armed.jobId, armed.token, {})).toThrow(ConflictError);
    for (const e of [UnauthorizedError, ForbiddenError, NotFoundError]) expect(e.prototype).toBeInstanceOf(ClonageError);
    expect(r.agents.fetchJob(armed.jobId, armed.token)).toContain(`job=${armed.jobId}\n`);
  });
});
