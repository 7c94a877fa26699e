import { expect } from 'chai';
import { ageInYears, parseFhirDate, parseFhirDateTime } from '../../../src/patient/validation/date-rules.js';

describe('parseFhirDate', () => {
  it('covers the whole year, month or day of a (partial) date', () => {
    expect(parseFhirDate('1948')).to.deep.include({ start: Date.UTC(1948, 0, 1), end: Date.UTC(1949, 0, 1) });
    expect(parseFhirDate('1957-06')).to.deep.include({ start: Date.UTC(1957, 5, 1), end: Date.UTC(1957, 6, 1) });
    expect(parseFhirDate('2020-12-31')).to.deep.include({ start: Date.UTC(2020, 11, 31), end: Date.UTC(2021, 0, 1) });
  });

  it('knows leap years and month lengths', () => {
    expect(parseFhirDate('2020-02-29')).not.to.equal(undefined);
    expect(parseFhirDate('2021-02-29')).to.equal(undefined);
    expect(parseFhirDate('2021-04-31')).to.equal(undefined);
    expect(parseFhirDate('2021-13')).to.equal(undefined);
  });

  it('keeps years below 100 as written', () => {
    expect(new Date(parseFhirDate('0050')!.start).getUTCFullYear()).to.equal(50);
  });
});

describe('parseFhirDateTime', () => {
  it('applies the zone offset', () => {
    expect(parseFhirDateTime('2020-01-01T10:00:00+02:00')!.start).to.equal(Date.UTC(2020, 0, 1, 8));
    expect(parseFhirDateTime('2020-01-01T10:00:00.250Z')!.start).to.equal(Date.UTC(2020, 0, 1, 10, 0, 0, 250));
  });

  it('accepts partial dates and refuses impossible times', () => {
    expect(parseFhirDateTime('2020-01')!.hasTime).to.equal(false);
    expect(parseFhirDateTime('2020-01-01T24:00:00Z')).to.equal(undefined);
    expect(parseFhirDateTime('2020-02-30T10:00:00Z')).to.equal(undefined);
  });
});

describe('ageInYears', () => {
  const now = new Date('2026-06-15T00:00:00Z');

  it('counts completed years', () => {
    expect(ageInYears('2000-06-15', now)).to.equal(26);
    expect(ageInYears('2000-06-16', now)).to.equal(25);
  });

  it('uses the youngest possible age for a partial date', () => {
    expect(ageInYears('1905', now)).to.equal(120);
    expect(ageInYears('1906-06', now)).to.equal(119);
  });
});
