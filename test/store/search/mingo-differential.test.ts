import { expect } from 'chai';
import { Query } from 'mingo';
import { runMongoSearch } from '../../../src/store/mongo/search.js';
import { toPatientDocument } from '../../../src/store/mongo/documents.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { buildCases } from './cases.js';
import { fixturePatients, fixtureRecord } from './fixture.js';
import { toQuery, walkAllPages, type RunSearch } from './harness.js';

/**
 * Without a mongod: the compiled MongoDB filter and sort, evaluated by mingo (MongoDB's query
 * semantics on plain objects) over documents shaped exactly as the Mongo engine stores them, must
 * find the same ids in the same order, page by page, as SQLite.
 */
describe('Patient search: MongoDB compiler (mingo) agrees with SQLite', () => {
  const patients = fixturePatients();
  const docs = patients.map((p) => toPatientDocument(fixtureRecord(p)));
  let store: SqliteStore;
  const mingo: RunSearch = (request) =>
    runMongoSearch(
      {
        find: async (filter, sort, limit) => new Query(filter).find(docs).sort(sort).limit(limit).all(),
        count: async (filter) => new Query(filter).find(docs).all().length,
      },
      request,
    );

  before(async () => {
    store = SqliteStore.open(':memory:');
    for (const p of patients) await store.create(fixtureRecord(p));
  });
  after(() => store.close());

  for (const c of buildCases(patients)) {
    it(`returns the SQLite ids for ${decodeURIComponent(c.q)}`, async () => {
      const sqlite = await walkAllPages((r) => store.search(r), c.q, 11);
      const mongo = await walkAllPages(mingo, c.q, 11);
      expect(mongo).to.deep.equal(sqlite);
    });
  }

  it('builds its documents like the engine (ix array and sort keys)', () => {
    expect(toQuery('a=1&a=2')).to.deep.equal({ a: ['1', '2'] });
    expect(docs[0]!.ix.length).to.be.greaterThan(10);
    expect(docs[0]!.sort.family).to.be.a('string');
  });
});
