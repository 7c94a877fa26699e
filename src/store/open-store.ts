import { errors, ErrorCode } from '../fhir/outcome.js';
import type { PatientStore } from './port.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { MongoStore } from './mongo/mongo-store.js';

/**
 * Opens the engine `DATABASE_URL` names (SPEC §3): `sqlite:<file>`, `sqlite::memory:`, or
 * `mongodb://…` / `mongodb+srv://…`. The only place that chooses an engine.
 */
export async function openStore(databaseUrl: string): Promise<PatientStore> {
  if (databaseUrl.startsWith('sqlite:')) {
    return SqliteStore.open(databaseUrl.slice('sqlite:'.length));
  }
  if (/^mongodb(\+srv)?:\/\//.test(databaseUrl)) {
    return MongoStore.connect(databaseUrl);
  }
  throw errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'DATABASE_URL names no known engine');
}
