import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { anonymizePatient, birthYearKept } from '../../src/lifecycle/anonymize.js';
import { deletionExtension, deletionInfo } from '../../src/lifecycle/lifecycle-extensions.js';
import { samplePatient } from '../support/patients.js';

const NOW = new Date('2026-03-01T10:00:00.000Z');

describe('anonymizePatient', () => {
  const deleted = (): Patient => ({
    ...samplePatient(0),
    id: 'p1',
    meta: { versionId: '3', lastUpdated: '2026-02-01T00:00:00.000Z', source: 'urn:x' },
    gender: 'female',
    birthDate: '1980-06-15',
    extension: [
      ...(samplePatient(0).extension ?? []),
      deletionExtension({
        status: 'soft-deleted',
        reason: 'user-request',
        note: 'free text',
        requestedBy: 'admin-1',
        softDeletedAt: '2026-02-01T00:00:00.000Z',
        graceExpiresAt: '2026-02-08T00:00:00.000Z',
      }),
    ],
  });

  it('keeps only id, meta versionId/lastUpdated, gender, the birth year and the deletion extension', () => {
    const out = anonymizePatient(deleted(), NOW);
    expect(Object.keys(out).sort()).to.deep.equal(['birthDate', 'extension', 'gender', 'id', 'meta', 'resourceType']);
    expect(out.meta).to.deep.equal({ versionId: '3', lastUpdated: '2026-02-01T00:00:00.000Z' });
    expect(out.birthDate).to.equal('1980');
    expect(out.extension).to.have.length(1);
    expect(deletionInfo(out)).to.deep.equal({
      status: 'anonymized',
      reason: 'user-request',
      requestedBy: 'admin-1',
      softDeletedAt: '2026-02-01T00:00:00.000Z',
      graceExpiresAt: '2026-02-08T00:00:00.000Z',
      anonymizedAt: NOW.toISOString(),
    });
  });

  it('drops the birth date of anyone who may be older than 89', () => {
    expect(birthYearKept('1936-03-02', NOW)).to.equal('1936');
    expect(birthYearKept('1936-03-01', NOW)).to.equal(undefined);
    expect(birthYearKept('1936', NOW)).to.equal(undefined);
    expect(birthYearKept('1937', NOW)).to.equal('1937');
    expect(birthYearKept(undefined, NOW)).to.equal(undefined);
  });

  it('does not change its input', () => {
    const input = deleted();
    const copy = structuredClone(input);
    anonymizePatient(input, NOW);
    expect(input).to.deep.equal(copy);
  });
});
