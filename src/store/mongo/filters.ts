import type { HistoryQuery } from '../port.js';
import type { PatientDocument } from './documents.js';

/**
 * The MongoDB filters the engine's writes and reads rely on, built by pure functions so tests can
 * evaluate them over sample documents (with mingo) without a server.
 */

/**
 * Compare-and-set on the current version: matches the patient only while its stored `versionId` is
 * still `expected`, so `updateOne(casFilter(...), …)` is atomic optimistic locking
 * (https://hl7.org/fhir/R4/http.html#concurrency).
 */
export function casFilter(id: string, expected: number): { _id: string; versionId: number } {
  return { _id: id, versionId: expected };
}

/** The `patients` fields a new version replaces (everything but `_id`). */
export function currentVersionUpdate(doc: PatientDocument): { $set: Omit<PatientDocument, '_id'> } {
  const { _id: _ignored, ...fields } = doc;
  return { $set: fields };
}

/** Unique-key claims among `ids` held by a patient other than `patientId` (the 409 check). */
export function takenKeysFilter(patientId: string, ids: string[]): object {
  return { _id: { $in: ids }, patientId: { $ne: patientId } };
}

/** Claims of `patientId` that its new version no longer makes (freed by the update). */
export function releasedKeysFilter(patientId: string, keep: string[]): object {
  return { patientId, _id: { $nin: keep } };
}

/** Versions of one patient matching a history query, paging included (`beforeVersion`). */
export function historyPageFilter(id: string, query: HistoryQuery): object {
  return {
    ...historyTotalFilter(id, query),
    ...(query.beforeVersion !== undefined ? { versionId: { $lt: query.beforeVersion } } : {}),
  };
}

/** Versions of one patient a history query counts in `total` (paging ignored). */
export function historyTotalFilter(id: string, query: HistoryQuery): object {
  return { id, ...(query.since !== undefined ? { lastUpdatedMs: { $gte: query.since } } : {}) };
}

/** Idempotency records that expired before `now`. */
export function expiredIdempotencyFilter(now: Date): { expiresAt: { $lt: Date } } {
  return { expiresAt: { $lt: now } };
}
