import { isOperationOutcomeError } from '../fhir/outcome.js';
import type { PatientStore } from '../store/port.js';
import { anonymizeInTransaction } from './anonymize.js';

export interface SweepOptions {
  now: Date;
  /** Patients fetched per batch (default 200). */
  batchSize?: number;
  /**
   * Patients anonymized per transaction (default 50): fewer commits (the sweep's main cost), while a
   * transaction stays short enough not to hold writers back. Each patient is still all-or-nothing.
   */
  perTransaction?: number;
}

export interface SweepResult {
  /** Patients this run anonymized. */
  anonymized: number;
  /** Candidates another writer changed first (restored, held, anonymized by another process). */
  skipped: number;
}

/**
 * The anonymization sweep (SPEC §7): anonymizes every soft-deleted, not held patient whose
 * `graceExpiresAt` has passed, in batches, `perTransaction` patients per transaction (each patient
 * all-or-nothing: a crash rolls back the open chunk, and a rerun does it). Idempotent and safe with
 * several processes: each patient is re-checked inside its transaction and written with a
 * compare-and-set on its version, so of a racing `$restore` (or a second sweep) and this one,
 * exactly one wins and one event is written; the loser skips.
 */
export async function runAnonymizationSweep(store: PatientStore, options: SweepOptions): Promise<SweepResult> {
  const batchSize = options.batchSize ?? 200;
  const perTransaction = Math.max(1, options.perTransaction ?? 50);
  const seen = new Set<string>();
  const result: SweepResult = { anonymized: 0, skipped: 0 };
  for (;;) {
    const ids = (await store.findExpiredSoftDeleted(options.now, batchSize + seen.size)).filter((id) => !seen.has(id));
    if (ids.length === 0) return result;
    const batch = ids.slice(0, batchSize);
    for (const id of batch) seen.add(id);
    for (let i = 0; i < batch.length; i += perTransaction) {
      const chunk = batch.slice(i, i + perTransaction);
      const done = await anonymizeChunk(store, chunk, options.now);
      result.anonymized += done;
      result.skipped += chunk.length - done;
    }
  }
}

/**
 * Anonymizes a chunk of due patients in one transaction. A patient another writer changed first
 * (412) or that vanished (404) would abort the whole chunk: then the chunk is redone one
 * transaction per patient, so that one skips and the others are still anonymized.
 */
async function anonymizeChunk(store: PatientStore, ids: string[], now: Date): Promise<number> {
  if (ids.length > 1) {
    try {
      return await store.transaction(async (tx) => {
        let done = 0;
        for (const id of ids) {
          if (await anonymizeInTransaction(tx, { id, now, trigger: 'sweep', actor: 'system' })) done++;
        }
        return done;
      });
    } catch (err) {
      if (!isRace(err)) throw err;
    }
  }
  let done = 0;
  for (const id of ids) if (await anonymizeExpired(store, id, now)) done++;
  return done;
}

function isRace(err: unknown): boolean {
  return isOperationOutcomeError(err) && (err.status === 412 || err.status === 404);
}

/** One sweep step: anonymizes `id` if it is still due; `false` when it was not (or lost a race). */
export async function anonymizeExpired(store: PatientStore, id: string, now: Date): Promise<boolean> {
  try {
    const done = await store.transaction((tx) => anonymizeInTransaction(tx, { id, now, trigger: 'sweep', actor: 'system' }));
    return done !== undefined;
  } catch (err) {
    // 412: someone wrote the patient between our read and write; 404: it vanished
    if (isRace(err)) return false;
    throw err;
  }
}
