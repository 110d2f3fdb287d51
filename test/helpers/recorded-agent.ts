/**
 * The PC side of docs/agent-protocol.md, played over HTTP by the test: what pxe/agent/ does on a
 * booted PC (fetch the job, post progress waiting → transfer → done, post the log, post the
 * result), with recorded values instead of a real udpcast run. It stands in for the PCs at the
 * process boundary in page tests, where no PC exists; the server cannot tell it from the agent.
 *
 * Job ids and tokens come from where a PC reads them: the armed boot plans (its TFTP boot file's
 * kernel command line), i.e. BootPlanStore.listArmed() on the shell's database.
 */
import type { Database } from 'better-sqlite3';
import { BootPlanStore } from '../../src/boot/boot-plan-store';

/** Bound of every agent HTTP call. */
export const AGENT_CALL_TIMEOUT_MS = 10_000;

export interface ArmedJob {
  readonly mac: string;
  readonly jobId: string;
  readonly token: string;
  /** pxelinux label = the target's role (sender, receiver, backup…). */
  readonly label: string;
}

/** Jobs armed right now, by MAC, as the PCs' boot files carry them. */
export function armedJobs(db: Database): ArmedJob[] {
  const store = new BootPlanStore(db, { now: () => new Date() });
  return store.listArmed().flatMap(({ mac, plan }) =>
    plan.kind === 'job' ? [{ mac: mac.toString(), jobId: plan.jobId, token: plan.token, label: plan.label }] : [],
  );
}

/** Polls until `count` jobs are armed (the action's tick runs asynchronously after creation). */
export async function waitForArmedJobs(db: Database, count: number, timeoutMs = 20_000): Promise<ArmedJob[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const jobs = armedJobs(db);
    if (jobs.length >= count) return jobs;
    if (Date.now() > deadline) throw new Error(`only ${jobs.length} of ${count} boot plans armed after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Progress {
  readonly stage: string;
  readonly percent: number;
  readonly bytes?: number;
  readonly rateKbps?: number;
}

export class AgentCallError extends Error {
  constructor(readonly call: string, readonly status: number, readonly body: string) {
    super(`agent ${call}: HTTP ${status} ${body.trim()}`);
  }
}

/** One PC's agent. `moduleUrl` is the `clonage.server=` value (module base URL). */
export class RecordedAgent {
  /** The job description the server answered (key=value), once fetched. */
  job: Record<string, string> | null = null;
  /** Every call made, for assertions and failure messages. */
  readonly calls: { call: string; status: number }[] = [];
  /** The session secret the job fetch answered: every later call sends it. */
  private session: string | null = null;

  constructor(
    readonly moduleUrl: string,
    readonly jobId: string,
    private readonly token: string,
    readonly name = jobId,
  ) {}

  static forJob(moduleUrl: string, job: ArmedJob, name?: string): RecordedAgent {
    return new RecordedAgent(moduleUrl, job.jobId, job.token, name ?? job.mac);
  }

  /** GET the job: consumes the boot plan; the target becomes running. */
  async fetchJob(): Promise<Record<string, string>> {
    const body = await this.call('GET', '', undefined, 200);
    const job: Record<string, string> = {};
    for (const line of body.split('\n')) {
      const m = /^([a-z_]+)=(.*)$/.exec(line);
      if (m) job[m[1]] = m[2];
    }
    if (job.job !== this.jobId) throw new Error(`agent ${this.name}: job description for ${job.job}, expected ${this.jobId}`);
    this.job = job;
    return job;
  }

  async progress(p: Progress): Promise<void> {
    const form = new URLSearchParams({ stage: p.stage, percent: String(p.percent), bytes: String(p.bytes ?? 0), rate_kbps: String(p.rateKbps ?? 0) });
    await this.call('POST', '/progress', form, 204);
  }

  async log(text: string): Promise<void> {
    await this.call('POST', '/log', text, 204);
  }

  /** Posts the result; returns what to do now (`always`, `never`, `halt`). */
  async result(status: 'succeeded' | 'failed', exitCode: number, message: string): Promise<string> {
    const body = await this.call('POST', '/result', new URLSearchParams({ status, exit_code: String(exitCode), message }), 200);
    const m = /^reboot=(\w+)$/m.exec(body);
    if (!m) throw new Error(`agent ${this.name}: result answer without reboot= line: ${body}`);
    return m[1];
  }

  /** Progress as the real agent posts it for a transfer of `totalBytes` at `rateKbps` (kbit/s). */
  transfer(percent: number, totalBytes: number, rateKbps: number): Progress {
    if (percent <= 0) return { stage: 'waiting', percent: 0, bytes: 0, rateKbps: 0 };
    if (percent >= 100) return { stage: 'done', percent: 100, bytes: totalBytes, rateKbps: 0 };
    return { stage: 'transfer', percent, bytes: Math.round((totalBytes * percent) / 100), rateKbps };
  }

  /** The end of a run: the log the agent uploads, then the result. */
  async finish(status: 'succeeded' | 'failed', exitCode = status === 'succeeded' ? 0 : 1): Promise<string> {
    const role = this.job?.role ?? 'job';
    const tool = role === 'sender' ? 'udp-sender' : role === 'receiver' ? 'udp-receiver' : role;
    const lines = [
      `clonage-agent: job ${this.jobId} role=${role} disk=${this.job?.disk ?? '?'} port=${this.job?.port ?? '?'}`,
      `clonage-agent: running ${tool}`,
      `clonage-agent: ${tool} exited with ${exitCode}`,
      `clonage-agent: result: ${status} (exit ${exitCode})`,
    ];
    await this.log(lines.join('\n') + '\n');
    return this.result(status, exitCode, status === 'succeeded' ? `${tool} ok` : `${tool} exit ${exitCode}`);
  }

  /** A backup job's upload of one image file (PUT …/image/{file}, its SHA-256 in X-Sha256), as agent-http.sh sends it. */
  async putImageFile(file: string, data: Buffer, sha256: string): Promise<void> {
    const res = await fetch(`${this.moduleUrl}/api/agent/jobs/${encodeURIComponent(this.jobId)}/image/${encodeURIComponent(file)}`, {
      method: 'PUT', body: data, signal: AbortSignal.timeout(AGENT_CALL_TIMEOUT_MS),
      headers: { 'x-clonage-session': this.session ?? '', 'content-type': 'application/octet-stream', 'x-sha256': sha256 },
    });
    this.calls.push({ call: `PUT /image/${file}`, status: res.status });
    if (res.status !== 201) throw new AgentCallError(`${this.name} PUT /image/${file}`, res.status, await res.text());
  }

  /** POST …/image/commit with the agent's line manifest: the server verifies and records the image. */
  async commitImage(manifest: string): Promise<string> {
    return this.call('POST', '/image/commit', manifest, 200);
  }

  private async call(method: 'GET' | 'POST', path: string, body: URLSearchParams | string | undefined, expected: number): Promise<string> {
    const url = `${this.moduleUrl}/api/agent/jobs/${encodeURIComponent(this.jobId)}${path}`;
    const headers: Record<string, string> = path === '' ? { authorization: `Bearer ${this.token}` } : { 'x-clonage-session': this.session ?? '' };
    if (typeof body === 'string') headers['content-type'] = 'text/plain; charset=utf-8';
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(AGENT_CALL_TIMEOUT_MS) });
    const text = await res.text();
    if (path === '' && res.status === 200) this.session = res.headers.get('x-clonage-session');
    const call = `${method} ${path || '/'}`;
    this.calls.push({ call, status: res.status });
    if (res.status !== expected) throw new AgentCallError(`${this.name} ${call}`, res.status, text);
    return text;
  }
}
