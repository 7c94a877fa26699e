import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { asActor } from '../support/tokens.js';
import type { TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
export { errorCode } from '../support/outcome.js';

export const FHIR = 'application/fhir+json';
export const JSON_PATCH = 'application/json-patch+json';

/** Creates sample patient `i` through the REST API (admin token). */
export async function create(t: TestApp, patient: Patient = samplePatient()): Promise<Patient & { id: string }> {
  const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(patient));
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body as Patient & { id: string };
}

/** `identifier=system|value` of a patient's first identifier. */
export function identifierQuery(patient: Patient, n = 0): string {
  const id = patient.identifier![n]!;
  return `identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`;
}
