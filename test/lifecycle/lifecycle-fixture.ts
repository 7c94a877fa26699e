import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { ManualClock } from '../../src/context/clock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { warmUpSchema } from '../../src/patient/validation/schema-validator.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { TEST_JWT_SECRET, adminToken, asActor } from '../support/tokens.js';

export const FHIR = 'application/fhir+json';
const ERROR_SYSTEM = 'http://fhir-patient-server.example/fhir/CodeSystem/error-code';
export const DAY = 24 * 60 * 60 * 1000;

/** A lifecycle test bed: the real app on SQLite `:memory:` with a manual clock and a 7-day grace period. */
export interface Bed extends TestApp {
  clock: ManualClock;
  sqlite: SqliteStore;
  /** Requests as an admin (token valid for 100 days of the manual clock). */
  http: ReturnType<typeof asActor>;
}

export function bed(): Bed {
  const clock = new ManualClock('2026-03-01T10:00:00.000Z');
  const sqlite = SqliteStore.open(':memory:');
  const t = testApp({
    clock,
    store: sqlite,
    env: { DELETION_GRACE_PERIOD: 'P7D', CORRELATION_SECRET: 'test-correlation-secret-0123456789', JWT_SECRET: TEST_JWT_SECRET },
  });
  const token = adminToken({ sub: 'admin-1', now: Math.floor(clock.now().getTime() / 1000), ttl: 100 * 24 * 3600 });
  return { ...t, clock, sqlite, http: asActor(t.app, token) };
}

/** The stable error code of an OperationOutcome body. */
export function errorCode(body: { issue?: { details?: { coding?: { system?: string; code?: string }[] } }[] }): string | undefined {
  return body.issue?.[0]?.details?.coding?.find((c) => c.system === ERROR_SYSTEM)?.code;
}

export async function create(t: Bed, patient: Patient = samplePatient()): Promise<Patient & { id: string }> {
  const res = await t.http.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(patient));
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body as Patient & { id: string };
}

export function op(t: Bed, id: string, name: string, body?: unknown) {
  const r = t.http.post(`/fhir/Patient/${id}/${name}`);
  return body === undefined ? r : r.set('Content-Type', FHIR).send(JSON.stringify(body));
}

export function notesBody(notes: string) {
  return { resourceType: 'Parameters', parameter: [{ name: 'notes', valueString: notes }] };
}

/** Outbox events written so far, oldest first. */
export function events(b: Bed): { type: string; patientId: string; data: Record<string, unknown> }[] {
  const rows = b.sqlite.db.prepare('SELECT type, patient_id, data FROM outbox_event ORDER BY seq').all() as {
    type: string;
    patient_id: string;
    data: string;
  }[];
  return rows.map((r) => ({ type: r.type, patientId: r.patient_id, data: JSON.parse(r.data) as Record<string, unknown> }));
}

export function eventTypes(b: Bed, id?: string): string[] {
  return events(b)
    .filter((e) => id === undefined || e.patientId === id)
    .map((e) => e.type);
}

/** Compiles the FHIR schema once before a suite (takes seconds). */
export function warmSchema(this: Mocha.Context): void {
  this.timeout(60_000);
  warmUpSchema();
}
