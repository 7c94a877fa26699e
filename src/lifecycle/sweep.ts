import { isOperationOutcomeError } from '../fhir/outcome.js';
import type { PatientStore } from '../store/port.js';
import { anonymizeInTransaction } from './anonymize.js';

export interface SweepOptions {
  now: Date;
  /** Patients fetched per batch (default 200). */
  batchSize?: number;
}

export interface SweepResult {
  /** Patients this run anonymized. */
  anonymized: number;
  /** Candidates another writer changed first (restored, held, anonymized by another process). */
  skipped: number;
}

/**
 * The anonymization sweep (SPEC §7): anonymizes every soft-deleted, not held patient whose
 * `graceExpiresAt` has passed, in batches, one transaction per patient. Idempotent and safe with
 * several processes: each patient is re-checked inside its transaction and written with a
 * compare-and-set on its version, so of a racing `$restore` (or a second sweep) and this one,
 * exactly one wins and one event is written; the loser skips.
 */
export async function runAnonymizationSweep(store: PatientStore, options: SweepOptions): Promise<SweepResult> {
  const batchSize = options.batchSize ?? 200;
  const seen = new Set<string>();
  const result: SweepResult = { anonymized: 0, skipped: 0 };
  for (;;) {
    const ids = (await store.findExpiredSoftDeleted(options.now, batchSize + seen.size)).filter((id) => !seen.has(id));
    if (ids.length === 0) return result;
    for (const id of ids.slice(0, batchSize)) {
      seen.add(id);
      (await anonymizeExpired(store, id, options.now)) ? result.anonymized++ : result.skipped++;
    }
  }
}

/** One sweep step: anonymizes `id` if it is still due; `false` when it was not (or lost a race). */
export async function anonymizeExpired(store: PatientStore, id: string, now: Date): Promise<boolean> {
  try {
    const done = await store.transaction((tx) => anonymizeInTransaction(tx, { id, now, trigger: 'sweep', actor: 'system' }));
    return done !== undefined;
  } catch (err) {
    // 412: someone wrote the patient between our read and write; 404: it vanished
    if (isOperationOutcomeError(err) && (err.status === 412 || err.status === 404)) return false;
    throw err;
  }
}
