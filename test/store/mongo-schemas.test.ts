import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Query, updateOne } from 'mingo';
import { BSON } from 'mongodb';
import mongoose from 'mongoose';
import {
  fromIdempotencyDocument,
  toHistoryDocument,
  toIdempotencyDocument,
  toPatientDocument,
  toPatientRecord,
  toUniqueKeyDocuments,
  type PatientDocument,
  type UniqueKeyDocument,
} from '../../src/store/mongo/documents.js';
import {
  casFilter,
  currentVersionUpdate,
  expiredIdempotencyFilter,
  historyPageFilter,
  historyTotalFilter,
  releasedKeysFilter,
  takenKeysFilter,
} from '../../src/store/mongo/filters.js';
import {
  bindModels,
  collections,
  historyIndexes,
  historySchema,
  idempotencyIndexes,
  idempotencySchema,
  patientIndexes,
  patientSchema,
  uniqueKeyIndexes,
  uniqueKeySchema,
  type DeclaredIndex,
} from '../../src/store/mongo/schemas.js';
import { buildRecord, nextVersion, samplePatients } from './record-builder.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

// Models on a connection that is never opened: documents can be built and validated offline.
const connection = mongoose.createConnection();
const models = bindModels(connection);
after(() => connection.close());

const records = samplePatients().map((p, i) => buildRecord(p, { id: randomUUID(), lastUpdated: at(i) }));

async function validationError(doc: { validate(): Promise<void> }): Promise<string[]> {
  const err = await doc.validate().then(() => undefined, (e: unknown) => e);
  expect(err, 'expected validation to fail').to.be.instanceOf(mongoose.Error.ValidationError);
  return Object.keys((err as mongoose.Error.ValidationError).errors);
}

describe('MongoDB documents and schemas', () => {
  describe('validation', () => {
    it('accepts the documents built from every sample patient', async () => {
      for (const r of records) {
        await new models.patients(toPatientDocument(r)).validate();
        await new models.history(toHistoryDocument(r)).validate();
        for (const key of toUniqueKeyDocuments(r)) await new models.uniqueKeys(key).validate();
      }
      expect(records.flatMap(toUniqueKeyDocuments).length).to.be.greaterThan(300);
    });

    it('rejects a current version without versionId, with a bad state or a fractional version', async () => {
      const { versionId: _omit, ...noVersion } = toPatientDocument(records[0]!);
      expect(await validationError(new models.patients(noVersion))).to.include('versionId');
      const badState = { ...toPatientDocument(records[0]!), state: 'deleted' };
      expect(await validationError(new models.patients(badState))).to.include('state');
      const fraction = { ...toPatientDocument(records[0]!), versionId: 1.5 };
      expect(await validationError(new models.patients(fraction))).to.include('versionId');
    });

    it('rejects a resource that is not a Patient, a bad instant and an index entry without param', async () => {
      const doc = toPatientDocument(records[1]!);
      const bad = {
        ...doc,
        resource: { resourceType: 'Observation' },
        lastUpdated: 'yesterday',
        ix: [{ text: 'smith' }],
      };
      expect(await validationError(new models.patients(bad))).to.include.members(['resource', 'lastUpdated', 'ix.0.param']);
      const { resource: _r, ...noResource } = toHistoryDocument(records[1]!);
      expect(await validationError(new models.history(noResource))).to.include('resource');
    });

    it('rejects an unknown unique-key kind and an idempotency record without expiry', async () => {
      expect(await validationError(new models.uniqueKeys({ _id: 'ssn|1', kind: 'ssn', patientId: 'p' }))).to.include('kind');
      const { expiresAt: _e, ...noExpiry } = toIdempotencyDocument(idempotency('k'));
      expect(await validationError(new models.idempotency(noExpiry))).to.include('expiresAt');
    });
  });

  describe('declared indexes', () => {
    const keys = (list: readonly DeclaredIndex[]) => list.map((index) => index.fields);

    it('lists the patients indexes search relies on', () => {
      expect(keys(patientIndexes)).to.deep.equal([
        { 'ix.param': 1, 'ix.text': 1 },
        { 'ix.param': 1, 'ix.exact': 1 },
        { 'ix.param': 1, 'ix.code': 1, 'ix.system': 1 },
        { 'ix.param': 1, 'ix.low': 1, 'ix.high': 1 },
        { 'ix.param': 1, 'ix.high': 1 },
        { 'ix.param': 1, 'ix.ref': 1 },
        { state: 1, _id: 1 },
        { state: 1, lastUpdatedMs: 1, _id: 1 },
        { state: 1, 'sort.family': 1, _id: 1 },
        { state: 1, 'sort.given': 1, _id: 1 },
        { state: 1, 'sort.birthdate': 1, _id: 1 },
        { state: 1, 'sort.gender': 1, _id: 1 },
      ]);
    });

    it('makes (id, versionId) unique in history and expires idempotency records by TTL', () => {
      expect(historyIndexes).to.deep.equal([
        { fields: { id: 1, versionId: 1 }, options: { unique: true } },
        { fields: { lastUpdatedMs: 1, id: 1, versionId: 1 } },
      ]);
      expect(uniqueKeyIndexes).to.deep.equal([{ fields: { patientId: 1 } }]);
      expect(idempotencyIndexes).to.deep.equal([
        { fields: { expiresAt: 1 }, options: { expireAfterSeconds: 0 } },
        { fields: { patientId: 1 } },
      ]);
    });

    it('declares exactly the listed indexes on each schema', () => {
      const pairs = [
        [patientSchema, patientIndexes],
        [historySchema, historyIndexes],
        [uniqueKeySchema, uniqueKeyIndexes],
        [idempotencySchema, idempotencyIndexes],
      ] as const;
      for (const [schema, list] of pairs) {
        expect(schema.indexes()).to.deep.equal(list.map((index) => [index.fields, index.options ?? {}]));
      }
      expect([patientSchema, historySchema, uniqueKeySchema, idempotencySchema].map((s) => s.get('collection'))).to.deep.equal(
        Object.values(collections),
      );
    });

    it('serves every engine filter from an index on its leading field', () => {
      const leading = (list: readonly DeclaredIndex[]) => list.map((index) => Object.keys(index.fields)[0]!);
      const uses = (filter: object, list: readonly DeclaredIndex[]) =>
        expect(Object.keys(filter).some((field) => field === '_id' || leading(list).includes(field)), JSON.stringify(filter)).to.equal(true);
      uses(casFilter('a', 1), patientIndexes);
      uses(takenKeysFilter('a', ['x']), uniqueKeyIndexes);
      uses(releasedKeysFilter('a', []), uniqueKeyIndexes);
      uses(historyPageFilter('a', { count: 1, since: 0, beforeVersion: 3 }), historyIndexes);
      uses(historyTotalFilter('a', { count: 1 }), historyIndexes);
      uses(expiredIdempotencyFilter(new Date()), idempotencyIndexes);
    });
  });

  describe('mapping', () => {
    it('round-trips every sample record losslessly', () => {
      for (const r of records) {
        expect(toPatientRecord(toPatientDocument(r), toUniqueKeyDocuments(r))).to.deep.equal(r);
      }
    });

    it('survives mongoose casting and BSON unchanged, empty objects and arrays included', () => {
      for (const r of records) {
        const record = { ...r, resource: { ...r.resource, extension: [], contact: [{}] } };
        const doc = toPatientDocument(record);
        const stored = BSON.deserialize(BSON.serialize(new models.patients(doc).toBSON())) as PatientDocument;
        expect(stored).to.deep.equal(doc);
        expect(toPatientRecord(stored, toUniqueKeyDocuments(record))).to.deep.equal(record);
      }
    });

    it('stores versionId and lastUpdated as numbers for ordering', () => {
      const doc = toHistoryDocument(nextVersion(records[0]!, { lastUpdated: at(99) }));
      expect([doc.versionId, doc.lastUpdatedMs]).to.deep.equal([2, Date.parse(at(99))]);
    });

    it('refuses a record whose versionId the server did not assign', () => {
      const r = records[0]!;
      const bad = { ...r, resource: { ...r.resource, meta: { ...r.resource.meta, versionId: 'W/"1"' } } };
      expect(() => toPatientDocument(bad)).to.throw().with.property('status', 500);
    });

    it('round-trips an idempotency record', () => {
      const rec = idempotency('key-1');
      const doc = toIdempotencyDocument(rec);
      expect(doc.expiresAt).to.be.instanceOf(Date);
      expect(fromIdempotencyDocument(doc)).to.deep.equal(rec);
    });
  });

  describe('filters (evaluated with mingo)', () => {
    it('lets exactly one compare-and-set update of a version win', () => {
      const docs = records.slice(0, 3).map(toPatientDocument) as (PatientDocument & Record<string, unknown>)[];
      const target = docs[1]!;
      const next = toPatientDocument(nextVersion(records[1]!, { state: 'soft-deleted' }));
      expect(new Query(casFilter(target._id, 1)).find(docs).all()).to.deep.equal([target]);
      expect(updateOne(docs, casFilter(target._id, 1), currentVersionUpdate(next))).to.include({ matchedCount: 1 });
      expect(updateOne(docs, casFilter(target._id, 1), currentVersionUpdate(next))).to.include({ matchedCount: 0 });
      expect(docs[1]).to.deep.equal(next);
      expect(docs.filter((d) => d.versionId === 1)).to.have.length(2);
    });

    it('does not match another patient, an unknown id or a newer version', () => {
      const docs = records.slice(0, 3).map(toPatientDocument);
      expect(new Query(casFilter(docs[0]!._id, 2)).find(docs).all()).to.deep.equal([]);
      expect(new Query(casFilter(randomUUID(), 1)).find(docs).all()).to.deep.equal([]);
    });

    it('finds keys another patient holds and ignores the patient own keys', () => {
      const [a, b] = [records[0]!, records[1]!];
      const keys: UniqueKeyDocument[] = [...toUniqueKeyDocuments(a), ...toUniqueKeyDocuments(b)];
      const wantedByB = [...toUniqueKeyDocuments(a), ...toUniqueKeyDocuments(b)].map((k) => k._id);
      const taken = new Query(takenKeysFilter(b.resource.id, wantedByB)).find(keys).all() as UniqueKeyDocument[];
      expect(taken.map((k) => k._id)).to.have.members(toUniqueKeyDocuments(a).map((k) => k._id));
      expect(taken.every((k) => k.patientId === a.resource.id)).to.equal(true);
    });

    it('keeps an email and an identifier with the same value apart', () => {
      const keys = toUniqueKeyDocuments({ ...records[0]!, uniqueKeys: [{ kind: 'identifier', value: 'x@y.org' }] });
      const wanted = toUniqueKeyDocuments({ ...records[1]!, uniqueKeys: [{ kind: 'email', value: 'x@y.org' }] });
      expect(new Query(takenKeysFilter(records[1]!.resource.id, wanted.map((k) => k._id))).find(keys).all()).to.deep.equal([]);
    });

    it('releases only the keys the new version drops, and only the patient own', () => {
      const [a, b] = [records[0]!, records[1]!];
      const keys = [...toUniqueKeyDocuments(a), ...toUniqueKeyDocuments(b)];
      const keep = toUniqueKeyDocuments(a).slice(0, 1).map((k) => k._id);
      const released = new Query(releasedKeysFilter(a.resource.id, keep)).find(keys).all() as UniqueKeyDocument[];
      expect(released.map((k) => k._id)).to.have.members(toUniqueKeyDocuments(a).slice(1).map((k) => k._id));
      expect(new Query(releasedKeysFilter(a.resource.id, [])).find(keys).all()).to.have.length(toUniqueKeyDocuments(a).length);
    });

    it('pages history newest first by since and beforeVersion', () => {
      const v1 = records[2]!;
      const v2 = nextVersion(v1, { lastUpdated: at(1000) });
      const v3 = nextVersion(v2, { lastUpdated: at(2000) });
      const docs = [v1, v2, v3, records[3]!].map(toHistoryDocument);
      const page = (query: Parameters<typeof historyPageFilter>[1]) =>
        new Query(historyPageFilter(v1.resource.id, query)).find(docs).sort({ versionId: -1 }).all().map((d) => (d as { versionId: number }).versionId);
      expect(page({ count: 10 })).to.deep.equal([3, 2, 1]);
      expect(page({ count: 10, beforeVersion: 3 })).to.deep.equal([2, 1]);
      expect(page({ count: 10, since: Date.parse(at(1000)) })).to.deep.equal([3, 2]);
      const total = new Query(historyTotalFilter(v1.resource.id, { count: 1, since: Date.parse(at(1000)), beforeVersion: 2 }));
      expect(total.find(docs).all()).to.have.length(2);
    });

    it('selects idempotency records that expired strictly before now', () => {
      const docs = [10, 20, 30].map((s) => toIdempotencyDocument({ ...idempotency(`k${s}`), expiresAt: at(s) }));
      const expired = new Query(expiredIdempotencyFilter(new Date(at(20)))).find(docs).all() as { _id: string }[];
      expect(expired.map((d) => d._id)).to.deep.equal(['k10']);
    });
  });
});

function idempotency(key: string) {
  return { key, fingerprint: 'a'.repeat(64), status: 201, patientId: randomUUID(), versionId: '1', createdAt: at(0), expiresAt: at(3600) };
}
