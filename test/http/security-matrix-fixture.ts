import type { Patient } from 'fhir/r4.js';
import request from 'supertest';
import type { PatientStore } from '../../src/store/port.js';
import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { mongoSkipReason, mongoUri } from '../store/mongo-availability.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { adminToken, asActor, auditorToken, hsToken, patientToken, practitionerToken } from '../support/tokens.js';

/**
 * Fixtures of the security matrix: the token kinds (the table's columns), the engines the table
 * runs on, and fresh patients per cell, inside and outside the clinician's and the patient's
 * compartment, in the lifecycle state a row needs.
 */

export const FHIR = 'application/fhir+json';
/** The clinician of the matrix: `fhirUser: Practitioner/gp-matrix`. */
export const GP = 'gp-matrix';
const OTHER_GP = 'gp-elsewhere';

/** The columns, in table order. `clinician` and `patient` have an in- and an out-of-compartment cell. */
export const COLUMNS = ['none', 'badSignature', 'expired', 'system', 'clinician', 'patient', 'admin', 'auditor'] as const;
export type Column = (typeof COLUMNS)[number];
export type Side = 'in' | 'out';

/** The lifecycle state both fixture patients are put in before the cell's request. */
export type FixtureState = 'active' | 'soft-deleted' | 'held';

/** Two fresh patients: `inside` both compartments (GP and patient claim), `outside` neither. */
export interface Fixture {
  inside: Patient & { id: string };
  outside: Patient & { id: string };
}

const now = () => Math.floor(Date.now() / 1000);

/** The `Authorization` header of a column (undefined: none). Bad and expired tokens would be admins. */
export function tokenFor(column: Column, fixture: Fixture): string | undefined {
  switch (column) {
    case 'none':
      return undefined;
    case 'badSignature':
      return hsToken({ sub: 'test-admin', roles: ['admin'], scope: 'user/*.cruds' }, 'a-secret-the-server-does-not-know-0123456789');
    case 'expired':
      return adminToken({ now: now() - 7200, ttl: 3600 });
    case 'system':
      return hsToken({ sub: 'backend-service', scope: 'system/Patient.rs' });
    case 'clinician':
      return practitionerToken(GP);
    case 'patient':
      return patientToken(fixture.inside.id);
    case 'admin':
      return adminToken();
    case 'auditor':
      return auditorToken();
  }
}

let serial = 0;

/**
 * A sample patient made unique (identifiers suffixed, telecom dropped: contacts are unique keys)
 * with the given general practitioner. Names and identifiers stay: they are the PHI the refusals
 * must not echo.
 */
export function uniquePatient(gp: string): Patient {
  const n = serial++;
  const patient = samplePatient(n);
  delete patient.telecom;
  patient.identifier = (patient.identifier ?? []).map((identifier) => ({ ...identifier, value: `${identifier.value ?? 'id'}-m${n}` }));
  patient.generalPractitioner = [{ reference: `Practitioner/${gp}` }];
  return patient;
}

/** Creates both patients through HTTP as admin, then brings them to `state`. */
export async function buildFixture(t: TestApp, state: FixtureState): Promise<Fixture> {
  const admin = asActor(t.app);
  const create = async (patient: Patient) => {
    const res = await admin.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(patient));
    if (res.status !== 201) throw new Error(`fixture create answered ${res.status}`);
    return res.body as Patient & { id: string };
  };
  const fixture = { inside: await create(uniquePatient(GP)), outside: await create(uniquePatient(OTHER_GP)) };
  for (const patient of [fixture.inside, fixture.outside]) {
    let res: request.Response | undefined;
    if (state === 'soft-deleted') res = await admin.delete(`/fhir/Patient/${patient.id}`);
    if (state === 'held') res = await admin.post(`/fhir/Patient/${patient.id}/$investigation-start`).set('Content-Type', FHIR).send('{}');
    if (res && res.status >= 300) throw new Error(`fixture ${state} answered ${res.status}`);
  }
  return fixture;
}

/** PHI of the fixture patients that no refusal body may contain. */
export function phiOf(fixture: Fixture): string[] {
  const values: string[] = [];
  for (const patient of [fixture.inside, fixture.outside]) {
    for (const name of patient.name ?? []) values.push(...(name.given ?? []), ...(name.family ? [name.family] : []));
    for (const identifier of patient.identifier ?? []) if (identifier.value) values.push(identifier.value);
    if (patient.birthDate) values.push(patient.birthDate);
  }
  return values.filter((v) => v.length >= 4);
}

/** How many AuditEvents the store holds, and the newest. */
export async function auditState(store: PatientStore) {
  const page = await store.audit.search({ where: [], descending: true, count: 1, total: true });
  return { total: page.total ?? 0, newest: page.events[0]?.resource };
}

export { describeEachEngine, engines, type Engine } from '../support/engines.js';
