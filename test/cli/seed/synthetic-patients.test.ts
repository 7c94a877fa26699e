import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { uniqueKeysOf } from '../../../src/patient/record.js';
import { warmUpSchema } from '../../../src/patient/validation/schema-validator.js';
import { validatePatient } from '../../../src/patient/validation/validate-patient.js';
import { loadSamplePatients, SyntheticPatients } from '../../../src/cli/seed/synthetic-patients.js';

const now = new Date('2026-06-01T00:00:00Z');
const samples = loadSamplePatients();

describe('SyntheticPatients', () => {
  before(function () {
    this.timeout(60_000);
    warmUpSchema();
  });

  it('makes copies and bodies the validator accepts', () => {
    const synthetic = new SyntheticPatients(samples, now);
    for (let k = 0; k < 900; k += 23) {
      expect(() => validatePatient(synthetic.copy(k), { now, mode: 'create' }), `copy ${k}`).to.not.throw();
      expect(() => validatePatient(JSON.parse(synthetic.body(k)), { now, mode: 'create' }), `body ${k}`).to.not.throw();
    }
  });

  it('gives every copy its own identifiers, e-mail and phone, copies and bodies alike', () => {
    const synthetic = new SyntheticPatients(samples, now);
    const seen = new Map<string, number>();
    for (let k = 0; k < 700; k++) {
      const patient: Patient = k % 3 === 0 ? JSON.parse(synthetic.body(k)) : synthetic.copy(k);
      const normalized = validatePatient(patient, { now, mode: 'create' });
      for (const key of uniqueKeysOf(normalized, { uniqueContacts: true })) {
        const name = `${key.kind}|${key.value}`;
        expect(seen.get(name), `${key.kind} of copy ${k}`).to.equal(undefined);
        seen.set(name, k);
      }
    }
    expect(seen.size).to.be.greaterThan(700 * 4);
  });

  it('varies names and birth dates once the sample is used up', () => {
    const synthetic = new SyntheticPatients(samples, now);
    const first = synthetic.copy(0);
    expect(first.name).to.deep.equal(samples[0]!.name);
    const names = new Set<string>();
    const birthDates = new Set<string>();
    for (let round = 1; round <= 20; round++) {
      const copy = synthetic.copy(round * samples.length);
      names.add(JSON.stringify(copy.name));
      birthDates.add(copy.birthDate ?? '');
    }
    expect(names.size).to.be.greaterThan(10);
    expect(birthDates.size).to.be.greaterThan(10);
  });

  it('leaves the sample untouched', () => {
    const before = JSON.stringify(samples);
    const synthetic = new SyntheticPatients(samples, now);
    for (let k = 0; k < 700; k++) synthetic.copy(k);
    synthetic.body(1);
    expect(JSON.stringify(samples)).to.equal(before);
  });
});
