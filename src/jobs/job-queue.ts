import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Agenda } from 'agenda';
import type { PatientStore } from '../store/port.js';
import { getJobResult, type JobResultRecord } from './job-results.js';
import { OperationJobName, runOperationJob, type OperationJobData, type OperationJobDeps } from './operation-jobs.js';

/** Where an operation job is: still to do, finished with a result, or failed without one. */
export type JobStatus = { state: 'pending' } | { state: 'done'; result: JobResultRecord } | { state: 'failed' };

/**
 * The job queue the `$restore` / `$anonymize` handlers and `GET /fhir/$job/{id}` use (SPEC §7,
 * https://hl7.org/fhir/R4/async.html): enqueue an operation, look its result up, or wait for it.
 */
export interface JobQueue {
  /** Enqueues an operation job to run now; resolves with its id once it is stored. */
  enqueue(name: OperationJobName, data: OperationJobData): Promise<string>;
  /** The job's status, or `undefined` when no such operation job exists. */
  status(jobId: string): Promise<JobStatus | undefined>;
  /**
   * Waits up to `timeoutMs` for the job to finish (woken at once when it ran in this process,
   * else by polling the stored result) and answers its status then.
   */
  wait(jobId: string, timeoutMs: number): Promise<JobStatus | undefined>;
}

/** A job id as this server hands them out (UUID on SQLite, ObjectId hex on MongoDB). */
const JOB_ID = /^[A-Za-z0-9-]{1,64}$/;
const POLL_MS = 50;
const OPERATION_JOBS: string[] = Object.values(OperationJobName);

/** The {@link JobQueue} on Agenda: jobs run in whichever process locks them first. */
export class AgendaJobQueue implements JobQueue {
  private readonly finished = new EventEmitter();

  constructor(
    private readonly agenda: Agenda,
    private readonly store: PatientStore,
  ) {
    this.finished.setMaxListeners(0);
    agenda.on('complete', (job: { attrs?: { _id?: unknown } }) => {
      const id = job.attrs?._id;
      if (id !== undefined) this.finished.emit(String(id));
    });
  }

  async enqueue(name: OperationJobName, data: OperationJobData): Promise<string> {
    const job = await this.agenda.now(name, data);
    return String(job.attrs._id);
  }

  async status(jobId: string): Promise<JobStatus | undefined> {
    if (!JOB_ID.test(jobId)) return undefined;
    const result = await getJobResult(this.store, jobId);
    if (result) return { state: 'done', result };
    let found: { state: string } | undefined;
    try {
      found = (await this.agenda.queryJobs({ id: jobId, names: OPERATION_JOBS, limit: 1 })).jobs[0];
    } catch {
      return undefined; // not an id this backend understands
    }
    if (!found) {
      // the job may have finished between the two reads
      const late = await getJobResult(this.store, jobId);
      return late ? { state: 'done', result: late } : undefined;
    }
    return found.state === 'failed' ? { state: 'failed' } : { state: 'pending' };
  }

  async wait(jobId: string, timeoutMs: number): Promise<JobStatus | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status(jobId);
      if (!status || status.state !== 'pending') return status;
      const left = deadline - Date.now();
      if (left <= 0) return status;
      await this.nextSignal(jobId, Math.min(POLL_MS, left));
    }
  }

  private nextSignal(jobId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.finished.off(jobId, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.finished.once(jobId, done);
    });
  }
}

/**
 * A {@link JobQueue} without a job runner: each job runs in the request, at once, through the same
 * {@link runOperationJob} (same transaction, AuditEvent and stored result). For apps built without
 * a scheduler (tests, tools); the server always uses {@link AgendaJobQueue}.
 */
export class InlineJobQueue implements JobQueue {
  constructor(private readonly deps: OperationJobDeps) {}

  async enqueue(name: OperationJobName, data: OperationJobData): Promise<string> {
    const jobId = randomUUID();
    await runOperationJob(this.deps, name, jobId, data);
    return jobId;
  }

  async status(jobId: string): Promise<JobStatus | undefined> {
    if (!JOB_ID.test(jobId)) return undefined;
    const result = await getJobResult(this.deps.store, jobId);
    return result ? { state: 'done', result } : undefined;
  }

  wait(jobId: string): Promise<JobStatus | undefined> {
    return this.status(jobId);
  }
}
