/** A MongoDB deployment for the engine's tests, or why there is none. */
export type MongoAvailability = { uri: string; stop(): Promise<void> } | { skip: string };

/** The one line printed when the MongoDB run is skipped (SPEC §3: never silently). */
export const MONGO_SKIP_REASON =
  'MongoDB engine skipped: no mongod on this machine (offline). Set MONGODB_URI to a replica set, ' +
  'or MONGOMS_SYSTEM_BINARY to a mongod binary, to run it.';

/**
 * Where the MongoDB tests run:
 * - `MONGODB_URI` when set (a replica set or sharded cluster: the engine needs transactions);
 * - else, with `MONGOMS_SYSTEM_BINARY` pointing at a local `mongod`, a one-member
 *   mongodb-memory-server replica set on that binary (never a download: there is no network here);
 * - else `{ skip }` with the line to print.
 *
 * The memory server runs with MongoDB's TTL monitor off, so only `purgeIdempotency` (driven by
 * the tests' own clock) removes idempotency records.
 */
export async function mongoUri(): Promise<MongoAvailability> {
  const uri = process.env.MONGODB_URI;
  if (uri) return { uri, stop: async () => undefined };

  const systemBinary = process.env.MONGOMS_SYSTEM_BINARY;
  if (!systemBinary) return { skip: MONGO_SKIP_REASON };
  return startMemoryReplSet(systemBinary);
}

/**
 * Why the MongoDB tests cannot run, decided from the environment alone (synchronously, so a test
 * file can register its suites at load time), or `undefined` when {@link mongoUri} has a server.
 */
export function mongoSkipReason(): string | undefined {
  return process.env.MONGODB_URI || process.env.MONGOMS_SYSTEM_BINARY ? undefined : MONGO_SKIP_REASON;
}

async function startMemoryReplSet(systemBinary: string): Promise<MongoAvailability> {

  process.env.MONGOMS_RUNTIME_DOWNLOAD = 'false';
  process.env.MONGOMS_DISABLE_POSTINSTALL = '1';
  const { MongoMemoryReplSet } = await import('mongodb-memory-server');
  const replSet = await MongoMemoryReplSet.create({
    binary: { systemBinary },
    replSet: {
      count: 1,
      storageEngine: 'wiredTiger',
      args: ['--setParameter', 'ttlMonitorEnabled=false'],
    },
  });
  return {
    uri: replSet.getUri(),
    stop: async () => {
      await replSet.stop();
    },
  };
}
