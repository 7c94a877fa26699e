/**
 * `npx tsx src/cli/bench-transaction.ts [--count 1000] [--runs 5]`
 *
 * Loads transaction Bundles of `count` new patients (Synthea-based synthetic copies) through the real
 * app over HTTP (`POST /fhir`, admin token) into a fresh SQLite file, and prints the throughput in
 * patients/s of each run and the median. Validation, authorization, per-entry AuditEvents and the one
 * store transaction are all included; the client's JSON encoding is not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { buildApp, serverCapabilityStatement } from '../app.js';
import { loadConfig } from '../config/config.js';
import { systemClock } from '../context/clock.js';
import { createLogger } from '../observability/logger.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { warmUpSchema } from '../patient/validation/schema-validator.js';
import { loadSamplePatients, SyntheticPatients } from './seed/synthetic-patients.js';

const SECRET = 'bench-transaction-secret-0123456789abcdef0123';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' } } });
  const count = Number(values.count);
  const runs = Number(values.runs);
  const dir = mkdtempSync(join(tmpdir(), 'bench-transaction-'));
  const config = loadConfig({
    DATABASE_URL: `sqlite:${join(dir, 'fhir.sqlite')}`,
    JWT_SECRET: SECRET,
    BODY_LIMIT: '200mb',
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_BUNDLE_ENTRIES: String(Math.max(count, 1)),
    DATA_DIR: dir,
  });
  const store = SqliteStore.open(join(dir, 'fhir.sqlite'));
  warmUpSchema();
  const app = buildApp({
    config,
    store,
    clock: systemClock,
    logger: createLogger({ level: 'error', silent: true }),
    cursorKey: 'bench-cursor-key-0123456789abcdef0123456789',
    correlationSecret: 'bench-correlation-secret-0123456789abcdef',
    capabilityStatement: serverCapabilityStatement(config, 'bench', new Date()),
    ready: () => store.ping(),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const token = jwt.sign({ sub: 'bench', scope: 'user/*.cruds', roles: ['admin'] }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });
  const synthetic = new SyntheticPatients(loadSamplePatients());
  const rates: number[] = [];
  try {
    for (let run = 0; run <= runs; run++) {
      const entry = Array.from({ length: count }, (_, i) => ({
        fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(run * count + i).padStart(12, '0')}`,
        resource: synthetic.copy(run * count + i),
        request: { method: 'POST', url: 'Patient' },
      }));
      const body = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry });
      const started = performance.now();
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/fhir+json', Authorization: `Bearer ${token}`, Prefer: 'return=minimal' },
        body,
      });
      await res.arrayBuffer();
      const ms = performance.now() - started;
      if (res.status !== 200) throw new Error(`transaction answered ${res.status}`);
      if (run === 0) continue; // warm-up
      rates.push((count / ms) * 1000);
      console.log(`run ${run}: ${count} patients in ${ms.toFixed(0)} ms (${Math.round((count / ms) * 1000)} patients/s)`);
    }
    rates.sort((a, b) => a - b);
    console.log(`transaction of ${count} patients on SQLite: median ${Math.round(rates[Math.floor(rates.length / 2)]!)} patients/s`);
  } finally {
    server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
