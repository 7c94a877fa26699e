import { expect } from 'chai';
import type { AuditEvent, Patient } from 'fhir/r4.js';
import type { Response } from 'supertest';
import { ManualClock } from '../../src/context/clock.js';
import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { outboxCollections, type OutboxEventDocument } from '../../src/store/mongo/outbox.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { warmUpSchema } from '../../src/patient/validation/schema-validator.js';
import type { Engine } from '../support/engines.js';
import type { TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { TEST_JWT_SECRET, adminToken, asActor } from '../support/tokens.js';
export { errorCode } from '../support/outcome.js';

export const FHIR = 'application/fhir+json';
export const DAY = 24 * 60 * 60 * 1000;
export const CORRELATION_SECRET = 'test-correlation-secret-0123456789';

/** A lifecycle test bed: the real app on a fresh store of one engine, with a manual clock and a 7-day grace period. */
export interface Bed extends TestApp {
  clock: ManualClock;
  engine: Engine;
  /** Requests as an admin (token valid for 100 days of the manual clock). */
  http: ReturnType<typeof asActor>;
}

export async function bed(engine: Engine): Promise<Bed> {
  const clock = new ManualClock('2026-03-01T10:00:00.000Z');
  const t = await engine.start({
    clock,
    env: { DELETION_GRACE_PERIOD: 'P7D', CORRELATION_SECRET, JWT_SECRET: TEST_JWT_SECRET },
  });
  const token = adminToken({ sub: 'admin-1', now: Math.floor(clock.now().getTime() / 1000), ttl: 100 * 24 * 3600 });
  return { ...t, clock, engine, http: asActor(t.app, token) };
}

/** Stops the bed's app and drops its store. */
export function closeBed(b: Bed): Promise<void> {
  return b.engine.stop(b);
}

/** The error code of an OperationOutcome body. */

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

export interface OutboxEvent {
  type: string;
  patientId: string;
  data: Record<string, unknown>;
}

/**
 * Outbox events written so far, oldest first: SQLite's `outbox_event` by its global `seq`;
 * MongoDB's `outbox_events` (no global order) by `occurredAt`, then the per-patient `patientSeq`.
 */
export async function events(b: Bed): Promise<OutboxEvent[]> {
  if (b.store instanceof SqliteStore) {
    const rows = b.store.db.prepare('SELECT type, patient_id, data FROM outbox_event ORDER BY seq').all() as {
      type: string;
      patient_id: string;
      data: string;
    }[];
    return rows.map((r) => ({ type: r.type, patientId: r.patient_id, data: JSON.parse(r.data) as Record<string, unknown> }));
  }
  const docs = await mongoOf(b)
    .database.collection<OutboxEventDocument>(outboxCollections.events)
    .find({})
    .sort({ occurredAt: 1, patientSeq: 1, patientId: 1 })
    .toArray();
  return docs.map((d) => ({ type: d.type, patientId: d.patientId, data: d.data as Record<string, unknown> }));
}

export async function eventTypes(b: Bed, id?: string): Promise<string[]> {
  return (await events(b)).filter((e) => id === undefined || e.patientId === id).map((e) => e.type);
}

/** How many correlation hashes the store keeps for a patient (`patient_correlation` on both engines). */
export async function correlationCount(b: Bed, id: string): Promise<number> {
  if (b.store instanceof SqliteStore) {
    return (b.store.db.prepare('SELECT count(*) AS n FROM patient_correlation WHERE patient_id = ?').get(id) as { n: number }).n;
  }
  return mongoOf(b).database.collection('patient_correlation').countDocuments({ patientId: id });
}

/** The AuditEvents recorded for one request (by its X-Request-Id), oldest first, through the audit port. */
export async function auditOf(b: Bed, res: Response): Promise<AuditEvent[]> {
  const requestId = res.headers['x-request-id'] as string;
  const page = await b.store.audit.search({ where: [], descending: false, count: 1000, total: false });
  return [...page.events]
    .sort((x, y) => x.seq - y.seq)
    .map((e) => e.resource as AuditEvent)
    .filter((e) => e.entity?.some((x) => x.what?.identifier?.value === requestId));
}

function mongoOf(b: Bed): MongoStore {
  if (!(b.store instanceof MongoStore)) throw new Error(`unsupported engine for raw reads: ${b.engine.name}`);
  return b.store;
}

/** Compiles the FHIR schema once before a suite (takes seconds). */
export function warmSchema(this: Mocha.Context): void {
  this.timeout(60_000);
  warmUpSchema();
}
