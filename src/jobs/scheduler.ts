import { Agenda } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Clock } from '../context/clock.js';
import type { Logger } from '../observability/logger.js';
import type { PatientStore } from '../store/port.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { MongoStore } from '../store/mongo/mongo-store.js';
import { SqliteBackend } from './sqlite-backend/sqlite-backend.js';
import { defineLifecycleJobs, JobName } from './definitions.js';

export interface Scheduler {
  agenda: Agenda;
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
  auditRetentionMs: number;
}): Promise<Scheduler> {
  const { store } = options;
  let agenda: Agenda;
  if (store instanceof SqliteStore) {
    const backend = new SqliteBackend({ db: store.db, run: (work) => store.withDb(work) });
    await backend.repository.ensureSchema();
    agenda = new Agenda({ backend, processEvery: 1000, defaultLockLifetime: 10 * 60_000 });
  } else if (store instanceof MongoStore) {
    agenda = new Agenda({ backend: new MongoBackend({ mongo: store.database, collection: 'agenda_jobs' }), processEvery: 1000 });
  } else {
    throw new TypeError('No job backend for this store');
  }
  await agenda.ready;
  defineLifecycleJobs(agenda, options);
  await agenda.start();
  await agenda.every(options.sweepIntervalMs, JobName.anonymizationSweep, {}, { skipImmediate: false });
  await agenda.every(24 * 3_600_000, JobName.auditRetention);
  options.logger.info('job runner started', { sweepIntervalMs: options.sweepIntervalMs });
  return {
    agenda,
    async stop() {
      await agenda.stop();
    },
  };
}
