import { expect } from 'chai';
import { OperationOutcomeError } from '../../../src/fhir/outcome.js';
import { parseSearch } from '../../../src/fhir/search/parse.js';
import { patientSearchParameters } from '../../../src/patient/search-parameters.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { runMongoSearch } from '../../../src/store/mongo/search.js';
import { seededRandom as random } from '../../support/random.js';

const PIECES = [
  ...patientSearchParameters.map((d) => d.code), '_count', '_sort', '_total', '_summary', '_elements', '_cursor',
  ':', ':missing', ':not', ':exact', ':contains', ':text', ':Practitioner', '|', ',', '\\', '=', 'eq', 'ap', 'ge', 'sa',
  '2020', '-01', '-31', 'T10:00', 'Z', '+05:00', 'true', 'false', '-', 'x', '%', '\u0000', 'é', '💥', '__proto__',
  'Patient/', 'http://a/b/', ' ', '0', '-1', '1e9', '.', '..', '{}', '[]', 'family', '-birthdate',
];

describe('search input fuzzing', () => {
  let store: SqliteStore;
  before(() => {
    store = SqliteStore.open(':memory:');
  });
  after(() => store.close());

  it('answers random garbage queries only with a result or a 400 OperationOutcomeError', async () => {
    const next = random(42);
    const pick = () => PIECES[Math.floor(next() * PIECES.length)]!;
    for (let i = 0; i < 3000; i++) {
      const query: Record<string, string[]> = Object.create(null);
      const n = 1 + Math.floor(next() * 3);
      for (let j = 0; j < n; j++) {
        const key = Array.from({ length: 1 + Math.floor(next() * 3) }, pick).join('');
        const value = Array.from({ length: Math.floor(next() * 5) }, pick).join('');
        (query[key] ??= []).push(value);
      }
      try {
        const { request } = parseSearch(query, { parameters: patientSearchParameters, strict: next() < 0.5, cursorKey: 'k' });
        await store.search(request);
        await runMongoSearch({ find: async () => [], count: async () => 0 }, request);
      } catch (err) {
        expect(err, JSON.stringify(query)).to.be.instanceOf(OperationOutcomeError);
        expect((err as OperationOutcomeError).status, JSON.stringify(query)).to.equal(400);
      }
    }
  });
});
