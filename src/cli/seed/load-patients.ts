import { randomUUID } from 'node:crypto';
import type { Patient } from 'fhir/r4.js';
import { isOperationOutcomeError } from '../../fhir/outcome.js';
import { buildPatientRecord } from '../../patient/record.js';
import { validatePatient } from '../../patient/validation/validate-patient.js';
import type { PatientRecord, PatientStore } from '../../store/port.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';

/** Options of {@link loadPatients}. */
export interface LoadOptions {
  /** How many patients to load. */
  count: number;
  /** Makes patient number `k` (0-based); called once per patient. */
  patient: (k: number) => Patient;
  /** `UNIQUE_CONTACTS` of the server that will serve them. */
  uniqueContacts: boolean;
  /** Patients per transaction (default 1,000). */
  batchSize?: number;
  now?: () => Date;
  /** Called after each committed batch with the number loaded so far. */
  onProgress?: (loaded: number) => void;
}

/** What {@link loadPatients} did. */
export interface LoadResult {
  loaded: number;
  /** Copies the validator refused (should be 0; counted rather than fatal). */
  invalid: number;
  /** Copies refused with 409 because an earlier run took their identifier or contact. */
  duplicates: number;
  /** Wall time of validation and loading, in milliseconds. */
  ms: number;
  /** Ids of the loaded patients, in load order. */
  ids: string[];
}

/**
 * Validates patients exactly as `POST /fhir/Patient` does and loads them through the store's bulk
 * path: one `store.transaction` per batch of creates. A batch that hits a unique-key conflict (a
 * previous run's data) is retried patient by patient so the conflicting ones are skipped and counted.
 * On SQLite it ends with `ANALYZE`, so the server that opens the file next plans with statistics.
 */
export async function loadPatients(store: PatientStore, options: LoadOptions): Promise<LoadResult> {
  const batchSize = options.batchSize ?? 1_000;
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  const result: LoadResult = { loaded: 0, invalid: 0, duplicates: 0, ms: 0, ids: [] };

  for (let start = 0; start < options.count; start += batchSize) {
    const end = Math.min(start + batchSize, options.count);
    const records: PatientRecord[] = [];
    const at = now();
    for (let k = start; k < end; k++) {
      const record = recordOf(options.patient(k), at, options.uniqueContacts);
      if (record) records.push(record);
      else result.invalid++;
    }
    try {
      await store.transaction(async (tx) => {
        for (const record of records) await tx.create(record);
      });
      result.loaded += records.length;
      for (const record of records) result.ids.push(record.resource.id);
    } catch (err) {
      if (!isConflict(err)) throw err;
      for (const record of records) {
        try {
          await store.create(record);
          result.loaded++;
          result.ids.push(record.resource.id);
        } catch (single) {
          if (!isConflict(single)) throw single;
          result.duplicates++;
        }
      }
    }
    options.onProgress?.(result.loaded);
  }
  // Fresh planner statistics after a bulk load (https://sqlite.org/lang_analyze.html): without
  // them a search filter plus a different sort can walk a whole index.
  if (store instanceof SqliteStore) await store.withDb((db) => db.exec('ANALYZE'));
  result.ms = performance.now() - started;
  return result;
}

/** The stored form of a valid patient (version 1), or `undefined` when validation refuses it. */
/** What `POST /fhir/Patient` would store for `input` at `at` (validated, new id, version 1); `undefined` when invalid. */
export function recordOf(input: Patient, at: Date, uniqueContacts: boolean): PatientRecord | undefined {
  let patient: Patient;
  try {
    patient = validatePatient(input, { now: at, mode: 'create' });
  } catch (err) {
    if (isOperationOutcomeError(err)) return undefined;
    throw err;
  }
  const resource: PatientRecord['resource'] = {
    ...patient,
    id: randomUUID(),
    meta: { ...patient.meta, versionId: '1', lastUpdated: at.toISOString() },
  };
  return buildPatientRecord(resource, 'active', { uniqueContacts });
}

function isConflict(err: unknown): boolean {
  return isOperationOutcomeError(err) && err.status === 409;
}
