import { expect } from 'chai';
import {
  assertPatientSchema,
  instancePathToFhirPath,
  isSchemaReady,
  warmUpSchema,
} from '../../../src/patient/validation/schema-validator.js';
import { OperationOutcomeError } from '../../../src/fhir/outcome.js';

describe('schema validator', () => {
  before(() => warmUpSchema());

  it('is ready after warm-up', () => {
    expect(isSchemaReady()).to.equal(true);
  });

  it('maps ajv instance paths to FHIRPath', () => {
    expect(instancePathToFhirPath('')).to.equal('Patient');
    expect(instancePathToFhirPath('/name/0/given/1')).to.equal('Patient.name[0].given[1]');
    expect(instancePathToFhirPath('/a~1b/c~0d')).to.equal('Patient.a/b.c~d');
  });

  it('accepts a minimal Patient', () => {
    expect(() => assertPatientSchema({ resourceType: 'Patient' })).not.to.throw();
  });

  it('names the keyword but not the value in diagnostics', () => {
    try {
      assertPatientSchema({ resourceType: 'Patient', birthDate: 'Jane-Doe-1970' });
      expect.fail('expected a throw');
    } catch (err) {
      expect(err).to.be.instanceOf(OperationOutcomeError);
      const issue = (err as OperationOutcomeError).issues[0]!;
      expect(issue.diagnostics).to.include('pattern');
      expect(issue.diagnostics).not.to.include('Jane');
      expect(issue.expression).to.deep.equal(['Patient.birthDate']);
    }
  });

  it('refuses contained resources that break their own schema', () => {
    expect(() =>
      assertPatientSchema({ resourceType: 'Patient', contained: [{ resourceType: 'Organization', bogus: 1 }] }),
    ).to.throw(OperationOutcomeError);
  });
});

describe('schema validator gaps closed', () => {
  before(() => warmUpSchema());

  for (const [name, body, expression] of [
    ['a string where a HumanName is expected', { name: ['x'] }, 'Patient.name[0]'],
    ['null where a ContactPoint is expected', { telecom: [null] }, 'Patient.telecom[0]'],
    ['a number where an Extension is expected', { extension: [3] }, 'Patient.extension[0]'],
    ['an Extension without url', { extension: [{ valueString: 'x' }] }, 'Patient.extension[0]'],
  ] as const) {
    it(`refuses ${name}`, () => {
      try {
        assertPatientSchema({ resourceType: 'Patient', ...body });
        expect.fail('expected a throw');
      } catch (err) {
        expect(err).to.be.instanceOf(OperationOutcomeError);
        expect((err as OperationOutcomeError).issues[0]!.expression).to.deep.equal([expression]);
      }
    });
  }

  it('keeps null allowed in the parallel _given array', () => {
    const body = { resourceType: 'Patient', name: [{ given: ['Ann', 'Bea'], _given: [null, { id: 'g2' }] }] };
    expect(() => assertPatientSchema(body)).not.to.throw();
  });
});
