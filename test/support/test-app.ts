import type { Express } from 'express';
import { loadConfig, type Config } from '../../src/config/config.js';
import { buildApp, serverCapabilityStatement } from '../../src/app.js';
import { ManualClock, systemClock, type Clock } from '../../src/context/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { PatientStore } from '../../src/store/port.js';
import { TEST_JWT_SECRET } from './tokens.js';
import { startScheduler, type Scheduler } from '../../src/jobs/scheduler.js';
import type { JobQueue } from '../../src/jobs/job-queue.js';

export interface TestApp {
  app: Express;
  store: PatientStore;
  config: Config;
  clock: Clock;
  /** With `jobs`: the real Agenda scheduler on the test store (resolves once it is set up). */
  scheduler?: Promise<Scheduler>;
  /** Stops what the test app started (the scheduler); call it in the test's `after` hook. */
  stop(): Promise<void>;
}

/** `testApp({ jobs })`: run `$restore` / `$anonymize` through a real Agenda on the test store. */
export interface TestJobsOptions {
  /** Agenda's poll interval (default 50 ms). */
  processEveryMs?: number;
  /** Start processing at once (default true); with false, `(await t.scheduler).agenda.start()` later. */
  autoStart?: boolean;
}

/**
 * The real app on an in-memory SQLite store (or a given store), with silent logs. `env` overrides
 * configuration variables exactly as the environment would.
 */
export function testApp(
  options: {
    env?: Record<string, string>;
    store?: PatientStore;
    clock?: Clock | ManualClock;
    jobs?: TestJobsOptions;
    /** Serve `/metrics` (without process metrics, which would leak timers between tests). */
    metrics?: boolean;
  } = {},
): TestApp {
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', JWT_SECRET: TEST_JWT_SECRET, ...options.env });
  const store = options.store ?? SqliteStore.open(':memory:');
  const clock = options.clock ?? systemClock;
  const logger = createLogger({ level: 'error', silent: true });
  const scheduler = options.jobs
    ? startScheduler({
        store,
        clock,
        logger,
        sweepIntervalMs: config.anonymizationSweepIntervalMs,
        auditRetentionMs: config.auditRetentionMs,
        uniqueContacts: config.uniqueContacts,
        processEveryMs: options.jobs.processEveryMs ?? 50,
        recurring: false,
        autoStart: options.jobs.autoStart ?? true,
      })
    : undefined;
  const metrics = options.metrics
    ? createMetrics({ defaultMetrics: false, ...(config.metricsToken ? { token: config.metricsToken } : {}) })
    : undefined;
  const app = buildApp({
    ...(metrics ? { metrics } : {}),
    ...(scheduler ? { jobs: deferredQueue(scheduler) } : {}),
    config,
    store: metrics ? metrics.instrumentStore(store) : store,
    clock,
    logger,
    cursorKey: 'test-cursor-key-0123456789abcdef0123456789',
    correlationSecret: config.correlationSecret ?? 'test-correlation-secret-0123456789abcdef',
    capabilityStatement: serverCapabilityStatement(config, 'test', clock.now()),
    ready: () => store.ping(),
  });
  return {
    app,
    store,
    config,
    clock,
    ...(scheduler ? { scheduler } : {}),
    async stop() {
      if (scheduler) await (await scheduler).stop();
    },
  };
}

/** The scheduler's queue, usable before the scheduler has finished starting. */
function deferredQueue(scheduler: Promise<Scheduler>): JobQueue {
  return {
    enqueue: async (name, data) => (await scheduler).jobs.enqueue(name, data),
    status: async (jobId) => (await scheduler).jobs.status(jobId),
    wait: async (jobId, timeoutMs) => (await scheduler).jobs.wait(jobId, timeoutMs),
  };
}
