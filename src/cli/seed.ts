/**
 * `npm run seed -- --count N [--database-url URL] [--data FILE]`
 *
 * Loads N realistic, varied patients (made from the Synthea sample of `shared/data`) into the store
 * `DATABASE_URL` names (or `--database-url`), validated like `POST /fhir/Patient`, in transactions of
 * 1,000. Prints how many were loaded and how fast.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { openStore } from '../store/open-store.js';
import { warmUpSchema } from '../patient/validation/schema-validator.js';
import { loadPatients } from './seed/load-patients.js';
import { loadSamplePatients, SAMPLE_PATIENTS_PATH, SyntheticPatients } from './seed/synthetic-patients.js';

const USAGE = 'usage: npm run seed -- --count N [--database-url sqlite:<file>|mongodb://…] [--data patients.json]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', short: 'n', default: '1000' },
      'database-url': { type: 'string' },
      data: { type: 'string', default: SAMPLE_PATIENTS_PATH },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 10_000_000) {
    console.error(`--count must be an integer from 1 to 10000000\n${USAGE}`);
    process.exit(2);
  }
  const env = { ...process.env, ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}) };
  const config = loadConfig(env);

  const samples = loadSamplePatients(values.data);
  const synthetic = new SyntheticPatients(samples);
  warmUpSchema();
  const store = await openStore(config.databaseUrl);
  try {
    const result = await loadPatients(store, {
      count,
      patient: (k) => synthetic.copy(k),
      uniqueContacts: config.uniqueContacts,
      onProgress: (loaded) => {
        if (process.stdout.isTTY) process.stdout.write(`\r  ${loaded} / ${count}`);
      },
    });
    if (process.stdout.isTTY) process.stdout.write('\n');
    const perSecond = Math.round((result.loaded / result.ms) * 1000);
    console.log(`seeded ${result.loaded} patients into ${store.engine} in ${(result.ms / 1000).toFixed(1)} s (${perSecond} patients/s)`);
    if (result.duplicates) console.log(`skipped ${result.duplicates} copies whose identifier or contact was already taken`);
    if (result.invalid) console.log(`skipped ${result.invalid} copies the validator refused`);
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`seed failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  process.exit(1);
});
