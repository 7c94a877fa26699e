import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { MongoClient, MongoNetworkError, MongoServerError } from 'mongodb';
import mongoose from 'mongoose';
import { errors, isOperationOutcomeError, type OperationOutcomeError } from '../../src/fhir/outcome.js';
import {
  duplicateKeyIds,
  isDuplicateKey,
  isRetryableTransactionError,
  toOutcomeError,
} from '../../src/store/mongo/driver-errors.js';
import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { historyIndexes, idempotencyIndexes, patientIndexes, uniqueKeyIndexes } from '../../src/store/mongo/schemas.js';
import type { PatientStore } from '../../src/store/port.js';
import { runStoreContract } from './contract.js';
import { mongoSkipReason, mongoUri } from './mongo-availability.js';
import { buildRecord, samplePatient } from './record-builder.js';

async function refusal(promise: Promise<unknown>): Promise<OperationOutcomeError> {
  const err = await promise.then(() => expect.fail('expected a refusal'), (e: unknown) => e);
  expect(isOperationOutcomeError(err), String(err)).to.equal(true);
  return err as OperationOutcomeError;
}

describe('MongoStore without a server', () => {
  it('fails fast with 503 STORE_UNAVAILABLE when no server answers', async () => {
    // port 1: nothing listens, so server selection gives up after the configured timeout
    const uri = 'mongodb://127.0.0.1:1/fhir?directConnection=true';
    const err = await refusal(MongoStore.connect(uri, { serverSelectionTimeoutMS: 200 }));
    expect([err.status, err.code]).to.deep.equal([503, 'STORE_UNAVAILABLE']);
    expect(err.message).not.to.include('127.0.0.1');
    expect(mongoose.connection.readyState).to.equal(0);
  });
});

describe('MongoDB driver errors', () => {
  const duplicate = () =>
    new MongoServerError({
      message: 'E11000 duplicate key error collection: fhir.patient_unique_keys index: _id_ dup key: { _id: "email|a@b.org" }',
      code: 11000,
      keyValue: { _id: 'email|a@b.org' },
    });

  it('maps unreachable servers to 503 without quoting the driver message', async () => {
    const client = new MongoClient('mongodb://127.0.0.1:1/?directConnection=true', { serverSelectionTimeoutMS: 50 });
    const selection = await client.connect().then(() => expect.fail('nothing listens there'), (e: unknown) => e);
    await client.close();
    expect(selection).to.have.property('name', 'MongoServerSelectionError');
    for (const err of [new MongoNetworkError('connect ECONNREFUSED 10.0.0.7:27017'), selection]) {
      const mapped = toOutcomeError(err);
      expect([mapped.status, mapped.code]).to.deep.equal([503, 'STORE_UNAVAILABLE']);
      expect(mapped.message).not.to.include('10.0.0.7');
    }
  });

  it('maps elections and exhausted write conflicts to 503', () => {
    for (const code of [10107, 189, 91, 112]) {
      expect(toOutcomeError(new MongoServerError({ message: 'x', code })).status).to.equal(503);
    }
  });

  it('lets transient transaction errors through for withTransaction to retry', () => {
    const conflict = new MongoServerError({ message: 'WriteConflict', code: 112, errorLabels: ['TransientTransactionError'] });
    expect(isRetryableTransactionError(conflict)).to.equal(true);
    expect(isRetryableTransactionError(duplicate())).to.equal(false);
    expect(isRetryableTransactionError(new Error('boom'))).to.equal(false);
  });

  it('recognizes a duplicate key and the claim it names, and never shows it', () => {
    expect(isDuplicateKey(duplicate())).to.equal(true);
    expect(isDuplicateKey(new MongoServerError({ message: 'x', code: 112 }))).to.equal(false);
    expect(duplicateKeyIds(duplicate())).to.deep.equal(['email|a@b.org']);
    const mapped = toOutcomeError(duplicate());
    expect(mapped.status).to.equal(500);
    expect(JSON.stringify(mapped.toOperationOutcome())).not.to.include('a@b.org');
  });

  it('answers 500 for bugs and passes OperationOutcomeErrors through', () => {
    expect(toOutcomeError(new TypeError('x is undefined')).status).to.equal(500);
    expect(toOutcomeError(new mongoose.Error.ValidationError()).status).to.equal(500);
    const notFound = errors.notFound();
    expect(toOutcomeError(notFound)).to.equal(notFound);
  });
});

const skipReason = mongoSkipReason();

if (skipReason) {
  console.log(skipReason);
  describe('PatientStore contract (mongodb)', () => {
    it.skip(skipReason);
  });
} else {
  describe('MongoDB engine', () => {
    // a database of our own, dropped after each test: never touch data MONGODB_URI may hold
    const dbName = `fhir_store_test_${process.pid}`;
    let server: { uri: string; stop(): Promise<void> } | undefined;
    before(async function () {
      this.timeout(120_000);
      const found = await mongoUri();
      if ('skip' in found) throw new Error(found.skip);
      server = found;
    });
    after(async () => server?.stop());

    const open = () => MongoStore.connect(server!.uri, { dbName, serverSelectionTimeoutMS: 5000 });
    const drop = async (store: PatientStore) => {
      await (store as MongoStore).models.patients.db.dropDatabase();
    };

    runStoreContract('mongodb', open, { cleanup: drop });
    describeMongoStore(open, drop);
  });
}

/** What the MongoDB engine does beyond the shared contract. */
function describeMongoStore(open: () => Promise<MongoStore>, drop: (store: PatientStore) => Promise<void>): void {
  describe('MongoStore', () => {
    let store: MongoStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await drop(store);
      await store.close();
    });

    const record = (n: number) => buildRecord(samplePatient(n), { id: randomUUID() });
    it('creates the declared indexes at connect', async () => {
      const names = async (model: mongoose.Model<never>) =>
        (await model.listIndexes()).map((index) => JSON.stringify(index.key)).filter((key) => key !== '{"_id":1}');
      const { patients, history, uniqueKeys, idempotency } = store.models;
      const declared = (list: { fields: object }[]) => list.map((index) => JSON.stringify(index.fields));
      expect(await names(patients as never)).to.have.members(declared([...patientIndexes]));
      expect(await names(history as never)).to.have.members(declared([...historyIndexes]));
      expect(await names(uniqueKeys as never)).to.have.members(declared([...uniqueKeyIndexes]));
      expect(await names(idempotency as never)).to.have.members(declared([...idempotencyIndexes]));
    });

    it('leaves a transaction usable after a refused create or a repeated idempotency key', async () => {
      const a = record(21);
      await store.create(a);
      const b = record(22);
      await store.transaction(async (tx) => {
        expect((tx as MongoStore).session).not.to.equal(undefined);
        expect((await refusal(tx.create({ ...b, uniqueKeys: a.uniqueKeys }))).code).to.equal('DUPLICATE_IDENTIFIER');
        const rec = { key: 'k', fingerprint: 'f', status: 201, patientId: b.resource.id, versionId: '1', createdAt: a.resource.meta.lastUpdated, expiresAt: a.resource.meta.lastUpdated };
        expect(await tx.putIdempotency(rec)).to.equal(true);
        expect(await tx.putIdempotency(rec)).to.equal(false);
        await tx.create(b);
      });
      expect(await store.read(b.resource.id)).not.to.equal(undefined);
      expect(store.session).to.equal(undefined);
    });

    it('refuses a transaction store used after its transaction ended', async () => {
      const leaked = await store.transaction(async (tx) => tx);
      expect((await refusal(leaked.read(randomUUID()))).status).to.equal(500);
    });

    it('answers 503 once closed, and ping says false', async () => {
      const other = await open();
      await other.close();
      await other.close();
      const err = await refusal(other.read(randomUUID()));
      expect([err.status, err.code]).to.deep.equal([503, 'STORE_UNAVAILABLE']);
      expect(await other.ping()).to.equal(false);
    });
  });
}
