import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { fixturePatients, fixtureRecord } from './fixture.js';
import { conformanceSuite, type RunSearch } from './harness.js';
import { buildCases } from './cases.js';
import { expect } from 'chai';

describe('Patient search conformance (SQLite)', () => {
  let store: SqliteStore;
  const patients = fixturePatients();

  before(async () => {
    store = SqliteStore.open(':memory:');
    for (const p of patients) await store.create(fixtureRecord(p));
  });
  after(() => store.close());

  it('has at least 60 cases', () => {
    expect(buildCases(patients).length).to.be.at.least(60);
  });

  conformanceSuite(() => patients, (): RunSearch => (request) => store.search(request));
});
