import { expect } from 'chai';
import type { Actor } from '../../src/context/actor.js';
import {
  assertPatientInCompartment, assertWritableInCompartment, compartmentConditions, isInCompartment,
} from '../../src/auth/compartment.js';
import { OperationOutcomeError } from '../../src/fhir/outcome.js';

const base: Actor = { subject: 's', roles: [], scopes: ['user/Patient.rs'] };

describe('compartments', () => {
  it('adds no condition for an unbound actor', () => {
    expect(compartmentConditions(base)).to.deep.equal([]);
    expect(isInCompartment(base, { id: 'any' })).to.equal(true);
  });

  it('confines a patient token to its own id', () => {
    const actor = { ...base, patient: 'p1' };
    expect(compartmentConditions(actor)).to.deep.equal([
      { kind: 'entry', param: '_id', tests: [{ field: 'code', op: 'eq', value: 'p1' }] },
    ]);
    expect(isInCompartment(actor, { id: 'p1' })).to.equal(true);
    expect(isInCompartment(actor, { id: 'p2' })).to.equal(false);
  });

  it('confines a practitioner to patients whose generalPractitioner references it', () => {
    const actor = { ...base, practitioner: 'dr1' };
    expect(compartmentConditions(actor)).to.deep.equal([
      { kind: 'entry', param: 'general-practitioner', tests: [{ field: 'ref', op: 'eq', value: 'Practitioner/dr1' }] },
    ]);
    expect(isInCompartment(actor, { id: 'a', generalPractitioner: [{ reference: 'Organization/o' }, { reference: 'http://x/fhir/Practitioner/dr1' }] })).to.equal(true);
    expect(isInCompartment(actor, { id: 'a', generalPractitioner: [{ reference: 'Practitioner/dr10' }] })).to.equal(false);
    expect(isInCompartment(actor, { id: 'a' })).to.equal(false);
  });

  it('answers 404 for reads outside and 403 for writes outside', () => {
    const actor = { ...base, patient: 'p1' };
    const status = (fn: () => void) => {
      try {
        fn();
        return 0;
      } catch (err) {
        return (err as OperationOutcomeError).status;
      }
    };
    expect(status(() => assertPatientInCompartment(actor, { id: 'p2' }))).to.equal(404);
    expect(status(() => assertWritableInCompartment(actor, { id: 'p2' }))).to.equal(403);
    expect(status(() => assertPatientInCompartment(actor, { id: 'p1' }))).to.equal(0);
  });
});
