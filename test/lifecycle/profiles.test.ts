import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ErrorCode } from '../../src/fhir/outcome.js';
import { DELETION_REASONS } from '../../src/lifecycle/lifecycle-extensions.js';
import { PATIENT_DELETION_URL, PATIENT_INVESTIGATION_URL } from '../../src/patient/extensions.js';
import { lifecycleRoutes } from '../../src/lifecycle/routes.js';

const read = (name: string) => JSON.parse(readFileSync(new URL(`../../profiles/${name}.json`, import.meta.url), 'utf8'));

describe('lifecycle profiles', () => {
  it('define the two extensions at the URLs the server writes', () => {
    expect(read('StructureDefinition-patient-deletion').url).to.equal(PATIENT_DELETION_URL);
    expect(read('StructureDefinition-patient-investigation').url).to.equal(PATIENT_INVESTIGATION_URL);
  });

  it('list exactly the deletion reasons the server accepts', () => {
    const codes = read('CodeSystem-deletion-reason').concept.map((c: { code: string }) => c.code);
    expect(codes).to.deep.equal([...DELETION_REASONS]);
  });

  it('list every error code of src/fhir/outcome.ts', () => {
    const codes = read('CodeSystem-error-code').concept.map((c: { code: string }) => c.code);
    expect(codes).to.have.members(Object.values(ErrorCode));
  });

  it('have an OperationDefinition for every custom operation route', () => {
    // `GET /fhir/$job/{id}` is the async status endpoint (https://hl7.org/fhir/R4/async.html), not an operation
    for (const route of lifecycleRoutes.filter((r) => r.interaction.startsWith('$') && r.path.startsWith('/fhir/Patient/'))) {
      expect(read(`OperationDefinition-Patient-${route.interaction.slice(1)}`).code).to.equal(route.interaction.slice(1));
    }
  });
});
