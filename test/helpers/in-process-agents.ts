/**
 * Agents called in process, for the service-level suites written when one token did everything:
 * `fetchJob(job, token)` presents the boot token from the target's reserved address and keeps the
 * session secret it answers; a later call made with that same token presents the session instead
 * (as the real agent does), and any other value is presented as a (wrong) session secret. So
 * "a wrong token is refused" keeps meaning "a wrong secret is refused". The session rules
 * themselves are proven by agent-sessions.test.ts and agent-address.test.ts.
 */
import type { Database } from 'better-sqlite3';
import type { AgentCaller } from '../../src/agent/agent-caller';
import type { AgentJobs } from '../../src/agent/agent-jobs';

type Fields = Readonly<Record<string, unknown>>;

export class InProcessAgents {
  private readonly sessions = new Map<string, { token: string; session: string }>();

  /** `from`: every call comes from there (rigs whose HTTP calls come from loopback), else the target's reserved IP. */
  constructor(private readonly service: Pick<AgentJobs, 'fetchJob' | 'progress' | 'log' | 'result' | 'report'>, private readonly db: Database, private readonly from?: string) {}

  /** The target's reserved address (where its PC calls from), or a stranger's for unknown jobs. */
  addressOf(jobId: string): string {
    if (this.from) return this.from;
    const row = this.db.prepare('SELECT ip FROM clonage_targets WHERE id = ?').get(jobId) as { ip: string } | undefined;
    return row?.ip ?? '192.0.2.1';
  }

  /** The credentials a later call presents when the test passes `token`. */
  caller(jobId: string, token: string | undefined): AgentCaller {
    const known = this.sessions.get(jobId);
    const session = known && token === known.token ? known.session : token;
    return { session, address: this.addressOf(jobId) };
  }

  fetchJob(jobId: string, token: string | undefined): string {
    const { description, session } = this.service.fetchJob(jobId, { token, address: this.addressOf(jobId) });
    this.sessions.set(jobId, { token: token!, session });
    return description;
  }

  /** The session secret the fetch of this job answered. */
  sessionOf(jobId: string): string {
    const s = this.sessions.get(jobId);
    if (!s) throw new Error(`${jobId} was not fetched here`);
    return s.session;
  }

  progress(jobId: string, token: string | undefined, fields: Fields): void {
    this.service.progress(jobId, this.caller(jobId, token), fields);
  }

  log(jobId: string, token: string | undefined, text: unknown): void {
    this.service.log(jobId, this.caller(jobId, token), text);
  }

  result(jobId: string, token: string | undefined, fields: Fields): string {
    return this.service.result(jobId, this.caller(jobId, token), fields);
  }

  report(jobId: string, token: string | undefined, text: unknown): void {
    this.service.report(jobId, this.caller(jobId, token), text);
  }
}
