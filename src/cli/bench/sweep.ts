import { randomBytes } from 'node:crypto';
import { runAnonymizationSweep } from '../../lifecycle/sweep.js';
import { softDeletePatient } from '../../lifecycle/soft-delete.js';
import { openStore } from '../../store/open-store.js';
import type { LoadResult } from './load.js';

/** SPEC §11: the anonymization sweep of 10,000 expired patients must take under 30 s. */
export const SWEEP_PATIENTS = 10_000;
const GRACE_MS = 7 * 24 * 3_600_000;

/**
 * Soft-deletes up to {@link SWEEP_PATIENTS} of `ids` (untimed, 1,000 per transaction), moves time past
 * their grace period and times one `runAnonymizationSweep` over them, in this process on its own
 * connection to the bench database. Reported as a run whose `responses` are the patients anonymized
 * and whose `rps` is patients per second. It anonymizes those patients: run it last.
 */
export async function measureSweep(databaseUrl: string, ids: readonly string[]): Promise<LoadResult> {
  const store = await openStore(databaseUrl);
  try {
    const due = ids.slice(0, SWEEP_PATIENTS);
    const deletedAt = new Date();
    const correlationSecret = randomBytes(32).toString('base64url');
    for (let i = 0; i < due.length; i += 1000) {
      await store.transaction(async (tx) => {
        for (const id of due.slice(i, i + 1000)) {
          await softDeletePatient(tx, {
            id,
            reason: 'user-request',
            requestedBy: 'bench',
            now: deletedAt,
            gracePeriodMs: GRACE_MS,
            uniqueContacts: true,
            correlationSecret,
          });
        }
      });
    }
    const started = performance.now();
    const result = await runAnonymizationSweep(store, { now: new Date(deletedAt.getTime() + GRACE_MS + 1000) });
    const durationSec = (performance.now() - started) / 1000;
    return {
      rps: result.anonymized / durationSec,
      p50: NaN,
      p95: NaN,
      p99: NaN,
      responses: result.anonymized,
      failures: result.anonymized === due.length ? {} : { 'not anonymized': due.length - result.anonymized },
      errors: 0,
      durationSec,
    };
  } finally {
    await store.close();
  }
}
