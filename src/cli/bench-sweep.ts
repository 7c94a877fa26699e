import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Patient } from 'fhir/r4.js';
import type { PatientRecord, PatientStore } from '../store/port.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { buildPatientRecord } from '../patient/record.js';
import { softDeletePatient } from '../lifecycle/soft-delete.js';
import { runAnonymizationSweep } from '../lifecycle/sweep.js';

/**
 * `npx tsx src/cli/bench-sweep.ts [count]`: seeds `count` (default 10,000) soft-deleted patients
 * whose grace period has passed directly through the store on a temporary SQLite file, then times
 * one `runAnonymizationSweep` over them (SPEC §11: 10,000 in under 30 s). Prints patients/s and
 * total seconds as one JSON line.
 */

const SAMPLES = fileURLToPath(new URL('../../../shared/data/synthea-r4/patients.json', import.meta.url));
const GRACE_MS = 7 * 24 * 3_600_000;
const SEED_BATCH = 500;

/**
 * Creates `count` patients from the shared Synthea samples (identifiers made unique per copy) and
 * soft-deletes each at `deletedAt` with the default grace period, `SEED_BATCH` per transaction.
 * Each patient ends with two history versions (created, soft-deleted). Returns their ids.
 */
export async function seedExpiredPatients(
  store: PatientStore,
  options: { count: number; deletedAt: Date; samples?: readonly Patient[]; correlationSecret?: string },
): Promise<string[]> {
  const samples = options.samples ?? (JSON.parse(readFileSync(SAMPLES, 'utf8')) as Patient[]);
  const ids: string[] = [];
  const created = new Date(options.deletedAt.getTime() - 60_000);
  for (let start = 0; start < options.count; start += SEED_BATCH) {
    await store.transaction(async (tx) => {
      for (let i = start; i < Math.min(options.count, start + SEED_BATCH); i++) {
        const sample = structuredClone(samples[i % samples.length]!);
        const id = `bench-${String(i).padStart(6, '0')}`;
        const resource: PatientRecord['resource'] = {
          ...sample,
          identifier: (sample.identifier ?? []).map((identifier) => ({ ...identifier, value: `${identifier.value ?? ''}-${i}` })),
          id,
          meta: { versionId: '1', lastUpdated: created.toISOString() },
        };
        await tx.create(buildPatientRecord(resource, 'active', { uniqueContacts: false }));
        await softDeletePatient(tx, {
          id,
          reason: 'user-request',
          requestedBy: 'bench',
          now: options.deletedAt,
          gracePeriodMs: GRACE_MS,
          uniqueContacts: false,
          ...(options.correlationSecret !== undefined ? { correlationSecret: options.correlationSecret } : {}),
        });
        ids.push(id);
      }
    });
  }
  return ids;
}

/** After the grace period of patients deleted at `deletedAt`. */
export function afterGrace(deletedAt: Date): Date {
  return new Date(deletedAt.getTime() + GRACE_MS + 1000);
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'fhir-bench-sweep-'));
  const store = SqliteStore.open(join(dir, 'fhir.sqlite'));
  try {
    const deletedAt = new Date();
    const seedStart = performance.now();
    await seedExpiredPatients(store, { count, deletedAt, correlationSecret: 'bench-correlation-secret-0123456789abcdef' });
    const seedSec = (performance.now() - seedStart) / 1000;
    const started = performance.now();
    const result = await runAnonymizationSweep(store, { now: afterGrace(deletedAt) });
    const totalSec = (performance.now() - started) / 1000;
    console.log(
      JSON.stringify({
        patients: count,
        anonymized: result.anonymized,
        skipped: result.skipped,
        totalSeconds: Number(totalSec.toFixed(2)),
        patientsPerSecond: Math.round(result.anonymized / totalSec),
        seedSeconds: Number(seedSec.toFixed(2)),
        target: 'under 30 s for 10,000 (SPEC §11)',
      }),
    );
    if (result.anonymized !== count) process.exitCode = 1;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
  });
}
