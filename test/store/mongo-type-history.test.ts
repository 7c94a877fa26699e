import { expect } from 'chai';
import { Query } from 'mingo';
import { typeHistoryFilter, TYPE_HISTORY_SORT } from '../../src/store/mongo/type-history.js';
import type { TypeHistoryCursor } from '../../src/store/port.js';

/** The type-level history filter, evaluated with MongoDB's semantics (mingo) over sample documents. */
describe('MongoDB type-level history filter', () => {
  const docs = [
    { id: 'a', versionId: 1, lastUpdatedMs: 100 },
    { id: 'a', versionId: 2, lastUpdatedMs: 300 },
    { id: 'b', versionId: 1, lastUpdatedMs: 200 },
    { id: 'c', versionId: 1, lastUpdatedMs: 200 },
    { id: 'c', versionId: 2, lastUpdatedMs: 200 },
  ];
  const page = (after?: TypeHistoryCursor, since?: number) =>
    new Query(typeHistoryFilter({ count: 10, ...(after ? { after } : {}), ...(since !== undefined ? { since } : {}) }))
      .find(docs)
      .sort(TYPE_HISTORY_SORT)
      .all()
      .map((d) => `${(d as { id: string }).id}${(d as { versionId: number }).versionId}`);

  it('orders by lastUpdated, id, version, all descending', () => {
    expect(page()).to.deep.equal(['a2', 'c2', 'c1', 'b1', 'a1']);
  });

  it('continues strictly after the cursor, ties on time and id included', () => {
    expect(page({ lastUpdatedMs: 200, id: 'c', versionId: 2 })).to.deep.equal(['c1', 'b1', 'a1']);
    expect(page({ lastUpdatedMs: 200, id: 'c', versionId: 1 })).to.deep.equal(['b1', 'a1']);
  });

  it('keeps only versions since the given instant', () => {
    expect(page(undefined, 200)).to.deep.equal(['a2', 'c2', 'c1', 'b1']);
  });
});
