import { Agenda, InMemoryNotificationChannel } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Clock } from '../context/clock.js';
import type { Logger } from '../observability/logger.js';
import type { PatientStore } from '../store/port.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { MongoStore } from '../store/mongo/mongo-store.js';
import { SqliteBackend } from './sqlite-backend/sqlite-backend.js';
import { defineLifecycleJobs, JobName } from './definitions.js';
import { AgendaJobQueue, type JobQueue } from './job-queue.js';
import { ensureJobResultTable } from './job-results.js';

export interface Scheduler {
  agenda: Agenda;
  /** The queue of `$restore` / `$anonymize` jobs, for the handlers. */
  jobs: JobQueue;
  /** Stops polling and unlocks this process's jobs so another process can take them. */
  stop(): Promise<void>;
}

/**
 * Agenda, set up in one place (after bulletproof-nodejs): the backend of the store's engine
 * (the project's SQLite backend, or `@agendajs/mongo-backend`), the job definitions, and the
 * recurring anonymization sweep. The store is connected and checked before Agenda is built,
 * because Agenda's constructor calls `backend.connect()` without a catch (STACK.md).
 */
export async function startScheduler(options: {
  store: PatientStore;
  clock: Clock;
  logger: Logger;
  sweepIntervalMs: number;
  /** Called after each job run (metrics: `job_runs_total`). */
  onJobRun?: (job: string, result: 'success' | 'failure') => void;
  auditRetentionMs: number;
  /** `UNIQUE_CONTACTS`, for `$restore` re-claiming contacts (default true). */
  uniqueContacts?: boolean;
  /** How often Agenda polls for due jobs (default 1000 ms). */
  processEveryMs?: number;
  /** Start the recurring jobs (sweep, audit retention); default true. */
  recurring?: boolean;
  /** Start processing jobs at once (default true); with false, call `agenda.start()` later. */
  autoStart?: boolean;
}): Promise<Scheduler> {
  const { store } = options;
  const processEvery = options.processEveryMs ?? 1000;
  let agenda: Agenda;
  if (store instanceof SqliteStore) {
    const backend = new SqliteBackend({ db: store.db, run: (work) => store.withDb(work) });
    await backend.repository.ensureSchema();
    await store.withDb((db) => ensureJobResultTable(db));
    agenda = new Agenda({ backend, processEvery, defaultLockLifetime: 10 * 60_000, notificationChannel: new InMemoryNotificationChannel() });
  } else if (store instanceof MongoStore) {
    agenda = new Agenda({
      backend: new MongoBackend({ mongo: store.database, collection: 'agenda_jobs' }),
      processEvery,
      notificationChannel: new InMemoryNotificationChannel(),
    });
  } else {
    throw new TypeError('No job backend for this store');
  }
  await agenda.ready;
  agenda.on('success', (job: { attrs: { name: string } }) => options.onJobRun?.(job.attrs.name, 'success'));
  agenda.on('fail', (_err: unknown, job: { attrs: { name: string } }) => options.onJobRun?.(job.attrs.name, 'failure'));
  defineLifecycleJobs(agenda, options);
  const jobs = new AgendaJobQueue(agenda, store);
  if (options.autoStart !== false) await agenda.start();
  if (options.recurring !== false) {
    await agenda.every(options.sweepIntervalMs, JobName.anonymizationSweep, {}, { skipImmediate: false });
    await agenda.every(24 * 3_600_000, JobName.auditRetention);
  }
  options.logger.info('job runner started', { sweepIntervalMs: options.sweepIntervalMs });
  return {
    agenda,
    jobs,
    async stop() {
      await agenda.stop();
    },
  };
}
