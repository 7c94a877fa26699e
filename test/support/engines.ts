import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { mongoSkipReason, mongoUri } from '../store/mongo-availability.js';
import { testApp, type TestApp } from './test-app.js';

/** One storage engine an HTTP-level suite runs on (SQLite always; MongoDB when a mongod is reachable). */
export interface Engine {
  name: string;
  /** Why it cannot run here (printed once), else undefined. */
  skip?: string;
  /** Builds the app on a fresh store of this engine (options as for `testApp`, but the store). */
  start(options?: EngineAppOptions): Promise<TestApp>;
  stop(t: TestApp): Promise<void>;
}

const ENV = { RATE_LIMIT_PER_MINUTE: '10000000' };

/** What `testApp` takes besides the store. */
export type EngineAppOptions = Omit<NonNullable<Parameters<typeof testApp>[0]>, 'store'>;

/** SQLite `:memory:` always; MongoDB when `mongoUri()` finds a server (else one skip line). */
export function engines(): Engine[] {
  let server: { uri: string; stop(): Promise<void> } | undefined;
  const dbName = `fhir_http_suite_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const skip = mongoSkipReason();
  return [
    {
      name: 'sqlite',
      start: async (options = {}) => testApp({ ...options, env: { ...ENV, ...options.env }, store: SqliteStore.open(':memory:') }),
      stop: async (t) => {
        await t.stop();
        await t.store.close();
      },
    },
    {
      name: 'mongodb',
      ...(skip ? { skip } : {}),
      start: async (options = {}) => {
        const found = await mongoUri();
        if ('skip' in found) throw new Error(found.skip);
        server = found;
        const store = await MongoStore.connect(found.uri, { dbName, serverSelectionTimeoutMS: 5000 });
        return testApp({ ...options, env: { ...ENV, ...options.env }, store });
      },
      stop: async (t) => {
        await t.stop();
        await (t.store as MongoStore).models.patients.db.dropDatabase();
        await t.store.close();
        await server?.stop();
      },
    },
  ];
}

/**
 * Declares a suite once per engine — `describe(`${title} (sqlite)`)`, `… (mongodb)` — and, for an
 * engine that cannot run here, one visible skip with the reason (printed once) instead.
 */
export function describeEachEngine(title: string, body: (engine: Engine) => void): void {
  for (const engine of engines()) {
    describe(`${title} (${engine.name})`, function () {
      if (engine.skip) {
        console.log(engine.skip);
        it.skip(engine.skip);
        return;
      }
      body(engine);
    });
  }
}
