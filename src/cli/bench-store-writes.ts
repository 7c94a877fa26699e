/**
 * `npx tsx src/cli/bench-store-writes.ts [--count 1000] [--runs 6]`
 *
 * The floor under a transaction Bundle: what building and writing `count` new patients costs below
 * HTTP, authorization and audit. Each run validates and builds the records of `count` Synthea-based
 * copies (timed as `build`), then writes them through the SQLite engine's patient tables in ONE
 * transaction (`write`: every insert; `commit`: the WAL write and fsync), into a fresh file that
 * grows by `count` patients per run. Prints one line per run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PatientRecord } from '../store/port.js';
import { warmUpSchema } from '../patient/validation/schema-validator.js';
import { PatientTables } from '../store/sqlite/patient-tables.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { loadSamplePatients, SyntheticPatients } from './seed/synthetic-patients.js';
import { recordOf } from './seed/load-patients.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1000' }, runs: { type: 'string', default: '6' } } });
  const count = Number(values.count);
  const runs = Number(values.runs);
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-writes-'));
  const store = SqliteStore.open(join(dir, 'fhir.sqlite'));
  const tables = new PatientTables(store.db);
  const synthetic = new SyntheticPatients(loadSamplePatients());
  warmUpSchema();
  const now = new Date();
  const ms = (since: number) => (performance.now() - since).toFixed(0);
  let written = 0;
  try {
    for (let run = 0; run < runs; run++) {
      const copies = Array.from({ length: count }, (_, i) => synthetic.copy(run * count + i));
      let started = performance.now();
      const records = copies.map((copy) => recordOf(copy, now, true)).filter((r): r is PatientRecord => r !== undefined);
      const build = ms(started);
      started = performance.now();
      store.db.exec('BEGIN IMMEDIATE');
      for (const record of records) tables.create(record);
      const write = ms(started);
      started = performance.now();
      store.db.exec('COMMIT');
      const commit = ms(started);
      written += records.length;
      console.log(`run ${run}: ${records.length} patients (file holds ${written}) — build ${build} ms, write ${write} ms, commit ${commit} ms`);
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
