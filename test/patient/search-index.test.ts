import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { extractIndexEntries, extractSortKeys } from '../../src/patient/search-index.js';
import { patientSearchParameters } from '../../src/patient/search-parameters.js';
import { fixturePatients } from '../store/search/fixture.js';

const patient: Patient = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { lastUpdated: '2025-01-01T00:00:00.000Z' },
  identifier: [{ system: 'urn:s', value: 'V1', type: { text: 'Medical Record Number' } }],
  name: [{ use: 'official', family: 'Núñez', given: ['Ana', 'José'], prefix: ['Mrs.'] }],
  telecom: [{ system: 'email', value: 'Ana@Example.org' }, { system: 'phone', value: '(781) 212-8939' }],
  gender: 'female',
  birthDate: '1957-06',
  address: [{ use: 'home', line: ['1 Main St'], city: 'Boston', postalCode: '02111', country: 'US' }],
  deceasedDateTime: '2020-01-02T03:04:05Z',
  generalPractitioner: [{ reference: 'https://fhir.example/base/Practitioner/pr1/_history/3' }],
  communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es', display: 'Spanish' }] } }],
};

const of = (param: string) => extractIndexEntries(patient).filter((e) => e.param === param);

describe('extractIndexEntries', () => {
  it('indexes each name part separately, folded and as written', () => {
    expect(of('given')).to.deep.equal([
      { param: 'given', text: 'ana', exact: 'Ana' },
      { param: 'given', text: 'jose', exact: 'José' },
    ]);
    expect(of('name').map((e) => e.text)).to.deep.equal(['nunez', 'ana', 'jose', 'mrs.']);
  });

  it('indexes tokens with system, normalized code and display text', () => {
    expect(of('identifier')).to.deep.equal([{ param: 'identifier', system: 'urn:s', code: 'V1', text: 'medical record number' }]);
    expect(of('email')).to.deep.equal([{ param: 'email', system: 'email', code: 'ana@example.org' }]);
    expect(of('phone')).to.deep.equal([{ param: 'phone', system: 'phone', code: '+17812128939' }]);
    expect(of('gender')).to.deep.equal([{ param: 'gender', system: 'http://hl7.org/fhir/administrative-gender', code: 'female', text: 'female' }]);
    expect(of('language')).to.deep.equal([{ param: 'language', system: 'urn:ietf:bcp:47', code: 'es', text: 'spanish' }]);
    expect(of('deceased')).to.deep.equal([{ param: 'deceased', system: '', code: 'true' }]);
    expect(of('active')).to.deep.equal([]);
  });

  it('indexes deceased=false when nothing says otherwise', () => {
    const entries = extractIndexEntries({ resourceType: 'Patient' });
    expect(entries).to.deep.equal([{ param: 'deceased', system: '', code: 'false' }]);
  });

  it('indexes dates as [low, high) periods and references as Type/id', () => {
    expect(of('birthdate')).to.deep.equal([{ param: 'birthdate', low: Date.parse('1957-06-01T00:00:00Z'), high: Date.parse('1957-07-01T00:00:00Z') }]);
    expect(of('general-practitioner')).to.deep.equal([{ param: 'general-practitioner', ref: 'Practitioner/pr1' }]);
  });

  it('gives every parameter of the table a value on the fixture patients', () => {
    const seen = new Set(fixturePatients().flatMap((p) => extractIndexEntries(p.resource).map((e) => e.param)));
    expect([...seen].sort()).to.deep.equal(patientSearchParameters.map((d) => d.code).sort());
  });
});

describe('extractSortKeys', () => {
  it('takes folded family and first given of the official name, birth start and gender', () => {
    expect(extractSortKeys(patient)).to.deep.equal({ family: 'nunez', given: 'ana', birthdate: Date.parse('1957-06-01T00:00:00Z'), gender: 'female' });
    expect(extractSortKeys({ resourceType: 'Patient' })).to.deep.equal({});
  });
});
