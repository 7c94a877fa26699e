import { expect } from 'chai';
import { CURSOR_PARAM, encodeCursor } from '../../../src/fhir/search/cursor.js';
import { parseSearch } from '../../../src/fhir/search/parse.js';
import type { SearchRequest } from '../../../src/fhir/search/types.js';
import { patientSearchParameters } from '../../../src/patient/search-parameters.js';
import { compileMongoSearch, type MongoFilter } from '../../../src/store/mongo/compile-search.js';
import { patientIndexes } from '../../../src/store/mongo/schemas.js';
import { compileSqliteSearch } from '../../../src/store/sqlite/compile-search.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { fixturePatients, fixtureRecord } from './fixture.js';
import { toQuery } from './harness.js';

/** Every parameter, and each modifier kind, at least once; plus sorts and paging. */
const QUERIES = [
  '_id=abc', '_id:not=abc', '_lastUpdated=ge2025-01-01', '_lastUpdated=2025', 'identifier=x', 'identifier=s|x',
  'identifier=s|', 'identifier=|x', 'identifier:text=med', 'identifier:not=s|x', 'name=ab', 'name:exact=Ab',
  'name:contains=b', 'family=ab', 'family:exact=Ab', 'family:contains=b', 'given=jo', 'given:exact=Jo',
  'given:contains=o', 'birthdate=1990', 'birthdate=ne1990', 'birthdate=lt1990', 'birthdate=gt1990',
  'birthdate=le1990', 'birthdate=ge1990', 'birthdate=sa1990', 'birthdate=eb1990', 'birthdate=ap1990',
  'gender=male', 'gender:not=male', 'gender:text=ma', 'email=a@b.org', 'email:not=a@b.org', 'phone=+17812128939',
  'phone:not=+17812128939', 'telecom=phone|+17812128939', 'telecom:not=x', 'address=main', 'address:exact=Main',
  'address:contains=ai', 'address-city=bos', 'address-city:exact=Boston', 'address-city:contains=os',
  'address-state=ma', 'address-state:exact=MA', 'address-state:contains=a', 'address-postalcode=02',
  'address-postalcode:exact=02111', 'address-postalcode:contains=1', 'address-country=us', 'address-country:exact=US',
  'address-country:contains=s', 'address-use=home', 'address-use:not=home', 'active=true', 'active:not=true',
  'deceased=true', 'deceased:not=true', 'death-date=2020', 'death-date=ge2020', 'general-practitioner=Practitioner/1',
  'general-practitioner=1', 'general-practitioner:Practitioner=1', 'organization=Organization/1', 'organization=1',
  'link=Patient/1', 'link=1', 'language=en', 'language:text=eng', 'language:not=en', 'gender=male,female',
  'family=a&given=b', 'family=a,b&birthdate=ge2000', 'birthdate=ge1970-01-01&birthdate=lt1970-03-01',
  'gender=male&gender:not=female&birthdate=1980,1990&_sort=-family', '', '_sort=family', '_sort=-given', '_sort=birthdate,-gender',
  '_sort=-_lastUpdated', '_sort=_id', 'family=a&_sort=-birthdate',
  ...patientSearchParameters.flatMap((d) => [`${d.code}:missing=true`, `${d.code}:missing=false`]),
];

function requestFor(q: string, withCursor: boolean): SearchRequest {
  const options = { parameters: patientSearchParameters, strict: true, cursorKey: 'k' };
  const first = parseSearch(toQuery(q), options);
  if (!withCursor) return first.request;
  const after = [...first.request.sort.map((k) => (k.field === 'birthdate' || k.field === '_lastUpdated' ? 0 : 'm')), 'id'];
  const keys = first.request.sort.some((k) => k.field === '_id') ? after.slice(0, -1) : after;
  const token = encodeCursor({ after: keys, direction: 'next' }, first.fingerprint, 'k');
  return parseSearch({ ...toQuery(q), [CURSOR_PARAM]: [token] }, options).request;
}

describe('Patient search: every query is served by an index', () => {
  let store: SqliteStore;
  before(async () => {
    store = SqliteStore.open(':memory:');
    for (const p of fixturePatients().slice(0, 50)) await store.create(fixtureRecord(p));
  });
  after(() => store.close());

  for (const q of QUERIES) {
    it(`SQLite plans no table scan for ${q || '(no parameters)'}`, () => {
      for (const withCursor of [false, true]) {
        const compiled = compileSqliteSearch(requestFor(q, withCursor));
        const choice = compiled.choice ? [compiled.choice.byFilter, compiled.choice.bySort, compiled.choice.capped] : [];
        for (const part of [compiled.page, compiled.count, ...choice]) {
          const plan = store.db.prepare(`EXPLAIN QUERY PLAN ${part.sql}`).all(...part.params) as { detail: string }[];
          const scans = plan.map((p) => p.detail).filter((d) => /^SCAN (patient|patient_search)\b/.test(d));
          expect(scans, plan.map((p) => p.detail).join('\n')).to.deep.equal([]);
        }
      }
    });

    it(`MongoDB has a declared index for every leading field of ${q || '(no parameters)'}`, () => {
      for (const withCursor of [false, true]) {
        const compiled = compileMongoSearch(requestFor(q, withCursor));
        for (const fields of leadingFields(compiled.pageFilter)) {
          const served = patientIndexes.some((ix) => {
            const keys = Object.keys(ix.fields);
            return fields.every((f, i) => keys[i] === f);
          });
          expect(served, `no index starts with ${fields.join(', ')}`).to.equal(true);
        }
        const sortKeys = Object.keys(compiled.sort);
        const sortServed = patientIndexes.some((ix) => Object.keys(ix.fields)[0] === 'state' && Object.keys(ix.fields)[1] === sortKeys[0]);
        expect(sortServed || sortKeys[0] === '_id', `sort on ${sortKeys[0]}`).to.equal(true);
      }
    });
  }
});

/**
 * The index prefix each clause needs: `$elemMatch` on `ix` → `ix.param` then one tested field;
 * `ix.param` alone; `state`; keyset fields need `state` first (the top-level `$and` has it).
 */
function leadingFields(filter: MongoFilter): string[][] {
  const out: string[][] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      for (const f of value as MongoFilter[]) out.push(...leadingFields(f));
    } else if (key === 'ix') {
      const match = (value as { $elemMatch: Record<string, unknown> }).$elemMatch;
      const tested = Object.keys(match).filter((k) => k !== 'param' && k !== '$and');
      const lead = ['code', 'text', 'exact', 'low', 'high', 'ref'].find((f) => tested.includes(f));
      // `system|` alone: bounded on ix.param by the token index (param, code, system)
      out.push(lead ? ['ix.param', `ix.${lead}`] : ['ix.param']);
    } else if (key === 'ix.param' || key === 'state') {
      out.push([key]);
    } else if (key.startsWith('sort.') || key === 'lastUpdatedMs' || key === '_id') {
      out.push(['state', key].filter((k) => k !== '_id'));
    } else {
      throw new Error(`unexpected filter field ${key}`);
    }
  }
  return out;
}
