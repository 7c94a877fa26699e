import type { Express } from 'express';
import { loadConfig, type Config } from '../../src/config/config.js';
import { buildApp } from '../../src/app.js';
import { ManualClock, systemClock, type Clock } from '../../src/context/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { PatientStore } from '../../src/store/port.js';
import { capabilitySearchParams, capabilityStatementFrom } from '../../src/fhir/capability-statement.js';
import { patientSearchParameters } from '../../src/patient/search-parameters.js';
import { TEST_JWT_SECRET } from './tokens.js';

export interface TestApp {
  app: Express;
  store: PatientStore;
  config: Config;
  clock: Clock;
}

/**
 * The real app on an in-memory SQLite store (or a given store), with silent logs. `env` overrides
 * configuration variables exactly as the environment would.
 */
export function testApp(options: { env?: Record<string, string>; store?: PatientStore; clock?: Clock | ManualClock } = {}): TestApp {
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', JWT_SECRET: TEST_JWT_SECRET, ...options.env });
  const store = options.store ?? SqliteStore.open(':memory:');
  const clock = options.clock ?? systemClock;
  const app = buildApp({
    config,
    store,
    clock,
    logger: createLogger({ level: 'error', silent: true }),
    cursorKey: 'test-cursor-key-0123456789abcdef0123456789',
    correlationSecret: config.correlationSecret ?? 'test-correlation-secret-0123456789abcdef',
    capabilityStatement: capabilityStatementFrom(new URL('../../capability-statement.json', import.meta.url).pathname, {
      softwareVersion: 'test',
      startedAt: clock.now(),
      patientSearchParams: capabilitySearchParams(patientSearchParameters),
    }),
    ready: () => store.ping(),
  });
  return { app, store, config, clock };
}
