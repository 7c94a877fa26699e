import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { OperationOutcomeError } from '../../../src/fhir/outcome.js';
import { PATIENT_DELETION_URL, PATIENT_INVESTIGATION_URL } from '../../../src/patient/extensions.js';
import { warmUpSchema } from '../../../src/patient/validation/schema-validator.js';
import { validatePatient } from '../../../src/patient/validation/validate-patient.js';
import { loadSyntheaPatients } from './synthea.js';

const now = new Date('2026-01-01T12:00:00.000Z');
const create = { now, mode: 'create' } as const;

/** A real patient with a US address (with ZIP), a phone and an e-mail. */
function basePatient(): Patient {
  const patient = loadSyntheaPatients().find(
    (p) => p.telecom?.some((t) => t.system === 'email') && p.address?.[0]?.postalCode !== undefined,
  );
  if (!patient) throw new Error('no suitable patient in the corpus');
  return patient;
}

function emailIndex(p: Patient): number {
  return p.telecom!.findIndex((t) => t.system === 'email');
}

function phoneIndex(p: Patient): number {
  return p.telecom!.findIndex((t) => t.system === 'phone');
}

function rejection(body: unknown, options: { now: Date; mode: 'create' | 'update' } = create): OperationOutcomeError {
  try {
    validatePatient(body, options);
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err;
    throw err;
  }
  throw new Error('expected validatePatient to throw');
}

interface BadCase {
  name: string;
  body: () => unknown;
  status: number;
  code: string;
  expression: string;
  /** Client text that must not appear anywhere in the OperationOutcome. */
  secret?: string;
}

const badCases: BadCase[] = [
  { name: 'an array body', body: () => [basePatient()], status: 400, code: 'INVALID_RESOURCE', expression: 'Patient' },
  { name: 'a string body', body: () => 'Patient', status: 400, code: 'INVALID_RESOURCE', expression: 'Patient' },
  { name: 'a null body', body: () => null, status: 400, code: 'INVALID_RESOURCE', expression: 'Patient' },
  { name: 'birthDate: 12', body: () => ({ ...basePatient(), birthDate: 12 }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient.birthDate' },
  { name: 'name: "x"', body: () => ({ ...basePatient(), name: 'x' }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient.name' },
  { name: 'given as a number', body: () => ({ resourceType: 'Patient', name: [{ given: ['Ann', 3] }] }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient.name[0].given[1]' },
  { name: 'a malformed birthDate', body: () => ({ ...basePatient(), birthDate: '1990-13-01' }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient.birthDate', secret: '1990-13-01' },
  { name: 'an unknown gender', body: () => ({ ...basePatient(), gender: 'martian' }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient.gender', secret: 'martian' },
  { name: 'resourceType Observation', body: () => ({ ...basePatient(), resourceType: 'Observation' }), status: 400, code: 'WRONG_RESOURCE_TYPE', expression: 'Patient.resourceType' },
  { name: 'no resourceType', body: () => ({ name: [{ family: 'Doe' }] }), status: 400, code: 'WRONG_RESOURCE_TYPE', expression: 'Patient.resourceType' },
  { name: 'unknown element foo', body: () => ({ ...basePatient(), foo: 1 }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient.foo' },
  { name: 'unknown element name[0].foo', body: () => withName({ family: 'Doe', foo: 1 }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient.name[0].foo' },
  { name: 'an unknown element with an odd name', body: () => ({ ...basePatient(), 'John Doe 1970': 1 }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient', secret: 'John Doe' },
  { name: 'both deceasedBoolean and deceasedDateTime', body: () => ({ ...basePatient(), deceasedBoolean: true, deceasedDateTime: '2020-01-01' }), status: 400, code: 'INVALID_RESOURCE', expression: 'Patient.deceasedBoolean' },
  { name: 'a nested __proto__ key', body: () => JSON.parse('{"resourceType":"Patient","name":[{"family":"Doe","__proto__":{"admin":true}}]}'), status: 400, code: 'FORBIDDEN_KEY', expression: 'Patient.name[0].__proto__' },
  { name: 'a constructor key', body: () => ({ ...basePatient(), constructor: { prototype: {} } }), status: 400, code: 'FORBIDDEN_KEY', expression: 'Patient.constructor' },
  { name: 'digits in a given name', body: () => withName({ family: 'Doe', given: ['John3'] }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.name[0].given[0]', secret: 'John3' },
  { name: 'a symbol in a family name', body: () => withName({ family: 'Doe@' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.name[0].family', secret: 'Doe@' },
  { name: 'a blank given name', body: () => withName({ family: 'Doe', given: ['   '] }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.name[0].given[0]' },
  { name: 'a birthDate in the future', body: () => ({ ...basePatient(), birthDate: '2026-01-03' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.birthDate' },
  { name: 'age 121', body: () => ({ ...basePatient(), birthDate: '1904-12-31' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.birthDate' },
  { name: 'February 30th', body: () => ({ ...basePatient(), birthDate: '2021-02-30' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.birthDate' },
  { name: 'a deceasedDateTime in the future', body: () => ({ ...basePatient(), deceasedDateTime: '2026-01-01T13:00:00Z' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.deceasedDateTime' },
  { name: 'a bad email', body: () => withTelecom('email', 'jane.doe@@example'), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.telecom[{email}].value', secret: 'jane.doe' },
  { name: 'a bad phone', body: () => withTelecom('phone', '+1 555 555 5555'), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.telecom[{phone}].value', secret: '555' },
  { name: 'a national phone without a country', body: () => ({ ...withTelecom('phone', '(508) 555-0123'), address: [{ city: 'Boston' }] }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.telecom[{phone}].value' },
  { name: 'country ZZ', body: () => withAddress({ country: 'ZZ' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.address[0].country' },
  { name: 'country USA', body: () => withAddress({ country: 'USA' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.address[0].country' },
  { name: 'a postalCode without country', body: () => withAddress({ country: undefined }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.address[0].country' },
  { name: 'a bad US ZIP', body: () => withAddress({ country: 'US', postalCode: '0235' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.address[0].postalCode', secret: '0235' },
  { name: 'a bad GB postcode', body: () => withAddress({ country: 'GB', postalCode: '12345' }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.address[0].postalCode', secret: '12345' },
  { name: 'a bad BCP-47 tag', body: () => ({ ...basePatient(), communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en_US' }] } }] }), status: 422, code: 'BUSINESS_RULE', expression: 'Patient.communication[0].language.coding[0].code' },
  { name: 'a client-sent deletion extension', body: () => withExtension(PATIENT_DELETION_URL), status: 422, code: 'SERVER_MANAGED_FIELD', expression: 'Patient.extension[{last}]' },
  { name: 'a client-sent investigation extension', body: () => withExtension(PATIENT_INVESTIGATION_URL), status: 422, code: 'SERVER_MANAGED_FIELD', expression: 'Patient.extension[{last}]' },
  { name: 'a client meta.versionId on create', body: () => ({ ...basePatient(), meta: { versionId: '7' } }), status: 422, code: 'SERVER_MANAGED_FIELD', expression: 'Patient.meta.versionId' },
];

function withName(name: Record<string, unknown>): unknown {
  return { ...basePatient(), name: [name] };
}

function withTelecom(system: 'email' | 'phone', value: string): Patient {
  const patient = basePatient();
  const index = system === 'email' ? emailIndex(patient) : phoneIndex(patient);
  patient.telecom![index]!.value = value;
  return patient;
}

function withAddress(changes: Record<string, string | undefined>): Patient {
  const patient = basePatient();
  const address: Record<string, unknown> = { ...patient.address![0], ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete address[key];
  patient.address = [address];
  return patient;
}

function withExtension(url: string): Patient {
  const patient = basePatient();
  patient.extension = [...(patient.extension ?? []), { url, extension: [{ url: 'status', valueCode: 'soft-deleted' }] }];
  return patient;
}

/** Resolves `{email}`, `{phone}`, `{last}` placeholders against the body actually sent. */
function expectedExpression(template: string, body: unknown): string {
  const patient = body as Patient;
  return template
    .replace('{email}', () => String(emailIndex(patient)))
    .replace('{phone}', () => String(phoneIndex(patient)))
    .replace('{last}', () => String((patient.extension?.length ?? 0) - 1));
}

describe('validatePatient', () => {
  before(() => warmUpSchema());

  it('accepts every Synthea patient unchanged', () => {
    const patients = loadSyntheaPatients();
    expect(patients).to.have.length(300);
    for (const patient of patients) {
      expect(validatePatient(patient, create)).to.deep.equal(patient);
    }
  });

  it('returns a new object and leaves the input alone', () => {
    const input = basePatient();
    input.name = [{ family: '  Doe ', given: ['  Jean   Luc '] }];
    const snapshot = structuredClone(input);
    const output = validatePatient(input, create);
    expect(output).not.to.equal(input);
    expect(input).to.deep.equal(snapshot);
  });

  for (const c of badCases) {
    it(`answers ${c.status} ${c.code} for ${c.name}`, () => {
      const body = c.body();
      const err = rejection(body);
      expect(err.status).to.equal(c.status);
      expect(err.code).to.equal(c.code);
      expect(err.issues[0]!.expression?.[0]).to.equal(expectedExpression(c.expression, body));
      if (c.secret) expect(JSON.stringify(err.toOperationOutcome())).not.to.include(c.secret);
    });
  }

  it('reports every business-rule violation in one OperationOutcome', () => {
    const patient = basePatient();
    patient.name = [{ family: 'Doe1', given: ['Ann2'] }];
    patient.birthDate = '2030-01-01';
    patient.address = [{ postalCode: '02351' }];
    patient.extension = [{ url: PATIENT_DELETION_URL, valueString: 'x' }];
    const err = rejection(patient);
    expect(err.status).to.equal(422);
    expect(err.issues.map((i) => i.expression?.[0])).to.have.members([
      'Patient.extension[0]',
      'Patient.name[0].family',
      'Patient.name[0].given[0]',
      'Patient.birthDate',
      'Patient.address[0].country',
    ]);
    expect(err.toOperationOutcome().issue).to.have.length(5);
  });

  it('accepts meta.versionId on update (the handler replaces it)', () => {
    const patient = { ...basePatient(), meta: { versionId: '3' } };
    expect(validatePatient(patient, { now, mode: 'update' }).meta).to.deep.equal({ versionId: '3' });
  });

  it('refuses server-managed extensions on update too', () => {
    const err = rejection(withExtension(PATIENT_INVESTIGATION_URL), { now, mode: 'update' });
    expect(err.code).to.equal('SERVER_MANAGED_FIELD');
  });

  it('accepts names with apostrophes, hyphens, periods, accents and marks', () => {
    const names = ["O'Brien", 'O’Neil', 'Jean-Luc', 'Jr.', 'Ñúñez', 'Müller', 'Nguyễn', 'Ōtsuka', 'Søren', 'Μαρία', 'Иван', '李'];
    const patient = { ...basePatient(), name: [{ family: 'Test', given: names, suffix: ['Jr.'], prefix: ['Dr.'] }] };
    expect(validatePatient(patient, create).name?.[0]?.given).to.deep.equal(names);
  });

  it('accepts an age of exactly 120 and partial birth dates', () => {
    for (const birthDate of ['1905-12-31', '1905', '1905-12', '2026-01-01', '2026']) {
      expect(validatePatient({ ...basePatient(), birthDate }, create).birthDate).to.equal(birthDate);
    }
  });

  describe('normalization', () => {
    it('trims and collapses whitespace in names', () => {
      const patient = { ...basePatient(), name: [{ family: ' de  la Cruz ', given: ['  Jean   Luc ', 'Ann\tMarie'], text: ' Jean Luc  de la Cruz' }] };
      expect(validatePatient(patient, create).name).to.deep.equal([
        { family: 'de la Cruz', given: ['Jean Luc', 'Ann Marie'], text: 'Jean Luc de la Cruz' },
      ]);
    });

    it('composes decomposed accents (NFC)', () => {
      const patient = { ...basePatient(), name: [{ family: 'Mu\u0308ller' }] };
      expect(validatePatient(patient, create).name?.[0]?.family).to.equal('Müller');
    });

    it('lower-cases e-mails', () => {
      const output = validatePatient(withTelecom('email', ' A@B.ORG '), create);
      expect(output.telecom![emailIndex(output)]!.value).to.equal('a@b.org');
    });

    it('stores a national phone as E.164 using the first address country', () => {
      const patient = withTelecom('phone', '(508) 555-0123');
      patient.address![0]!.country = 'US';
      const output = validatePatient(patient, create);
      expect(output.telecom![phoneIndex(output)]!.value).to.equal('+15085550123');
    });

    it('stores an international phone as E.164', () => {
      const output = validatePatient(withTelecom('phone', '+44 20 7946 0958'), create);
      expect(output.telecom![phoneIndex(output)]!.value).to.equal('+442079460958');
    });

    it('upper-cases countries, and reads national phones with the normalized country', () => {
      const patient = withTelecom('phone', '508-555-0123');
      patient.address![0]!.country = 'us';
      const output = validatePatient(patient, create);
      expect(output.address![0]!.country).to.equal('US');
      expect(output.telecom![phoneIndex(output)]!.value).to.equal('+15085550123');
    });

    it('is idempotent', () => {
      const patient = withTelecom('phone', '(508) 555-0123');
      patient.name = [{ given: [' Ann  Marie '] }];
      const once = validatePatient(patient, create);
      expect(validatePatient(once, create)).to.deep.equal(once);
    });
  });
});
