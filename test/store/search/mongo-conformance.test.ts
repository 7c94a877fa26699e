import { MongoStore } from '../../../src/store/mongo/mongo-store.js';
import { MONGO_SKIP_REASON, mongoUri } from '../mongo-availability.js';
import { fixturePatients, fixtureRecord } from './fixture.js';
import { conformanceSuite, type RunSearch } from './harness.js';

const canRun = Boolean(process.env.MONGODB_URI || process.env.MONGOMS_SYSTEM_BINARY);

if (!canRun) {
  describe('Patient search conformance (MongoDB)', () => {
    it.skip(MONGO_SKIP_REASON);
  });
} else {
  describe('Patient search conformance (MongoDB)', () => {
    const patients = fixturePatients();
    const dbName = `fhir_search_test_${process.pid}`;
    let server: { uri: string; stop(): Promise<void> } | undefined;
    let store: MongoStore;

    before(async function () {
      this.timeout(120_000);
      const found = await mongoUri();
      if ('skip' in found) throw new Error(found.skip);
      server = found;
      store = await MongoStore.connect(server.uri, { dbName, serverSelectionTimeoutMS: 5000 });
      for (const p of patients) await store.create(fixtureRecord(p));
    });
    after(async () => {
      await store?.models.patients.db.dropDatabase();
      await store?.close();
      await server?.stop();
    });

    conformanceSuite(() => patients, (): RunSearch => (request) => store.search(request));
  });
}
