import { MongoError, MongoServerError } from 'mongodb';
import mongoose from 'mongoose';
import { ErrorCode, errors, isOperationOutcomeError, type OperationOutcomeError } from '../../fhir/outcome.js';

/** Driver error classes that mean "the server cannot be reached or went away". */
const UNREACHABLE = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoClientClosedError',
  'MongoServerClosedError',
  'MongoOperationTimeoutError',
  'MongoStalePrimaryError',
]);

/**
 * Server error codes that mean "try again later": write conflicts left after retries, elections,
 * shutdowns, time limits
 * (https://www.mongodb.com/docs/manual/reference/error-codes/).
 */
const TRANSIENT_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  251, // NoSuchTransaction
  262, // ExceededTimeLimit
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Labels the driver sets on errors that a whole transaction (or write) may be retried after. */
const RETRY_LABELS = ['TransientTransactionError', 'UnknownTransactionCommitResult'] as const;

/** Whether `err` is a duplicate-key error (E11000), from a single write or a bulk insert. */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}

/**
 * The `_id` values named by a duplicate-key error, where the server reported them (`keyValue`).
 * Used only to find which kind of unique key clashed; never logged or shown (it is PHI).
 */
export function duplicateKeyIds(err: unknown): string[] {
  if (!(err instanceof MongoServerError)) return [];
  const raw = err as MongoServerError & { writeErrors?: unknown };
  const sources: unknown[] = [raw.keyValue];
  const writeErrors = Array.isArray(raw.writeErrors) ? raw.writeErrors : raw.writeErrors ? [raw.writeErrors] : [];
  for (const w of writeErrors as { err?: { keyValue?: unknown }; keyValue?: unknown }[]) {
    sources.push(w.keyValue, w.err?.keyValue);
  }
  return sources
    .map((kv) => (kv && typeof kv === 'object' ? (kv as { _id?: unknown })._id : undefined))
    .filter((id): id is string => typeof id === 'string');
}

/**
 * Whether `err` carries a label telling `ClientSession#withTransaction` to run the transaction
 * again. Such errors must reach `withTransaction` unmapped, or its retry loop cannot see them.
 */
export function isRetryableTransactionError(err: unknown): boolean {
  return err instanceof MongoError && RETRY_LABELS.some((label) => err.hasErrorLabel(label));
}

/** Whether `err` comes from the MongoDB driver or from mongoose (not from code above the store). */
export function isDriverError(err: unknown): boolean {
  return err instanceof MongoError || err instanceof mongoose.Error;
}

/** Whether `err` means the database cannot be used right now (503), rather than a bug (500). */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (UNREACHABLE.has(err.name) || isRetryableTransactionError(err)) return true;
  if (err instanceof MongoError && err.hasErrorLabel('RetryableWriteError')) return true;
  if (err instanceof MongoServerError && typeof err.code === 'number' && TRANSIENT_CODES.has(err.code)) return true;
  // mongoose refuses operations while the connection is not open (or times out buffering them)
  return err.name === 'MongooseError' && /connect|buffering timed out/i.test(err.message);
}

/**
 * Maps anything thrown while talking to MongoDB to the server's one error type, so no driver or
 * mongoose error (whose message may quote documents) leaves the engine. `OperationOutcomeError`s
 * pass through; an unreachable or failing-over server is 503 `STORE_UNAVAILABLE`; anything else
 * is a bug and answers 500.
 */
export function toOutcomeError(err: unknown): OperationOutcomeError {
  if (isOperationOutcomeError(err)) return err;
  if (isUnavailable(err)) {
    return errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'The database is unavailable; retry later');
  }
  return errors.internal();
}
