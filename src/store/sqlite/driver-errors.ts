import Database from 'better-sqlite3';
import { ErrorCode, errors, isOperationOutcomeError, type OperationOutcomeError } from '../../fhir/outcome.js';

/** How long a connection waits for another connection's lock before giving up with 503 `STORE_UNAVAILABLE`. */
export const BUSY_TIMEOUT_MS = 5000;

/** SQLite result codes that mean "try again later" rather than "this request is wrong". */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|NOMEM|PROTOCOL)/;

/**
 * Maps anything thrown while talking to SQLite to the server's one error type, so no driver error
 * (nor its message, which may quote SQL) leaves the engine. `OperationOutcomeError`s pass through.
 * Busy/locked/I/O conditions and a closed connection are 503 `STORE_UNAVAILABLE`; anything else is a
 * bug and answers 500.
 */
export function toOutcomeError(err: unknown, db?: Database.Database): OperationOutcomeError {
  if (isOperationOutcomeError(err)) return err;
  if (err instanceof Database.SqliteError && TRANSIENT.test(err.code)) {
    return errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'The database is busy or unavailable; retry later');
  }
  if (db && !db.open) {
    return errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'The database is closed');
  }
  return errors.internal();
}

/** Runs a synchronous database call, rethrowing any failure through {@link toOutcomeError}. */
export function guarded<T>(db: Database.Database, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw toOutcomeError(err, db);
  }
}
