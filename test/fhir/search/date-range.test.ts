import { expect } from 'chai';
import { approximateMargin, dateCondition, parseDateRange, splitDatePrefix } from '../../../src/fhir/search/date-range.js';

const ms = (s: string) => Date.parse(s);

describe('parseDateRange', () => {
  it('covers the period its precision names', () => {
    expect(parseDateRange('2020')).to.deep.equal({ low: ms('2020-01-01T00:00:00Z'), high: ms('2021-01-01T00:00:00Z') });
    expect(parseDateRange('2020-02')).to.deep.equal({ low: ms('2020-02-01T00:00:00Z'), high: ms('2020-03-01T00:00:00Z') });
    expect(parseDateRange('2020-12-31')).to.deep.equal({ low: ms('2020-12-31T00:00:00Z'), high: ms('2021-01-01T00:00:00Z') });
    expect(parseDateRange('2020-01-01T10:00')).to.deep.equal({ low: ms('2020-01-01T10:00:00Z'), high: ms('2020-01-01T10:01:00Z') });
    expect(parseDateRange('2020-01-01T10:00:05+02:00')).to.deep.equal({ low: ms('2020-01-01T08:00:05Z'), high: ms('2020-01-01T08:00:06Z') });
    expect(parseDateRange('2020-01-01T10:00:05.123Z')).to.deep.equal({ low: ms('2020-01-01T10:00:05.123Z'), high: ms('2020-01-01T10:00:05.124Z') });
  });

  it('refuses what is not a date', () => {
    for (const bad of ['', '20', '2020-13', '2020-02-30', '2020-01-01T25:00', 'notadate', '2020-1-1', '2020-01-01T10:00+15:00']) {
      expect(parseDateRange(bad), bad).to.equal(undefined);
    }
  });
});

describe('date prefixes', () => {
  it('splits a known prefix and defaults to eq', () => {
    expect(splitDatePrefix('ge2020')).to.deep.equal({ prefix: 'ge', rest: '2020' });
    expect(splitDatePrefix('2020')).to.deep.equal({ prefix: 'eq', rest: '2020' });
    expect(splitDatePrefix('xx2020')).to.deep.equal({ prefix: 'eq', rest: 'xx2020' });
  });

  it('makes eq "the search range contains the value range"', () => {
    expect(dateCondition('birthdate', 'eq', { low: 10, high: 20 }, 0)).to.deep.equal({
      kind: 'entry',
      param: 'birthdate',
      tests: [{ field: 'low', op: 'ge', value: 10 }, { field: 'high', op: 'le', value: 20 }],
    });
  });

  it('widens ap by 10% of the distance to now, at least a day', () => {
    expect(approximateMargin({ low: 0, high: 1 }, 1000)).to.equal(86_400_000);
    expect(approximateMargin({ low: 0, high: 1 }, 100 * 86_400_000)).to.equal(10 * 86_400_000);
  });
});
