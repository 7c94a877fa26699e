import { expect } from 'chai';
import type { AuditEvent, Patient } from 'fhir/r4.js';
import type { Response } from 'supertest';
import type { PatientStore } from '../../src/store/port.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { buildPatientRecord } from '../../src/patient/record.js';
import { testApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { asActor } from '../support/tokens.js';
import { FHIR, bed, create, errorCode, eventTypes, notesBody, op, warmSchema, type Bed } from './lifecycle-fixture.js';

/** The AuditEvents of one request (by X-Request-Id), oldest first. */
function auditOf(sqlite: SqliteStore, res: Response): AuditEvent[] {
  const requestId = res.headers['x-request-id'] as string;
  return (sqlite.db.prepare('SELECT resource FROM audit_event ORDER BY seq').all() as { resource: string }[])
    .map((r) => JSON.parse(r.resource) as AuditEvent)
    .filter((e) => e.entity?.some((x) => x.what?.identifier?.value === requestId));
}

describe('lifecycle AuditEvents', () => {
  let b: Bed;
  before(warmSchema);
  beforeEach(() => {
    b = bed();
  });
  afterEach(async () => {
    await b.store.close();
  });

  it('records a returning patient (SPEC §7) in the create transaction, beside the create event', async () => {
    const first = await create(b, samplePatient(0));
    expect((await b.http.delete(`/fhir/Patient/${first.id}`)).status).to.equal(204);
    const again: Patient = { ...samplePatient(0), identifier: [{ system: 'urn:test:returning', value: 'r-1' }] };
    const res = await b.http.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(again));
    expect(res.status).to.equal(201);
    const events = auditOf(b.sqlite, res);
    expect(events.map((e) => e.subtype?.[0]?.code)).to.deep.equal(['returning-patient', 'create']);
    expect(events[0]!.entity!.map((e) => e.what?.reference).filter(Boolean)).to.deep.equal([
      `Patient/${res.body.id}/_history/1`,
      `Patient/${first.id}`,
    ]);
    expect(eventTypes(b, res.body.id)).to.include('identity.patient.returning_user');
  });

  it('writes one AuditEvent per create when no previous patient matches', async () => {
    const res = await b.http.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(1)));
    expect(auditOf(b.sqlite, res).map((e) => e.subtype?.[0]?.code)).to.deep.equal(['create']);
  });

  it('writes exactly one AuditEvent per investigation request', async () => {
    const { id } = await create(b);
    const started = await op(b, id, '$investigation-start', notesBody('billing dispute'));
    expect(started.status).to.equal(200);
    expect(auditOf(b.sqlite, started).map((e) => e.subtype?.[0]?.code)).to.deep.equal(['$investigation-start']);
    const refused = await op(b, id, '$investigation-start', notesBody('again'));
    expect(refused.status).to.equal(409);
    expect(auditOf(b.sqlite, refused)).to.have.length(1);
  });

  it('rolls an investigation hold back with its event when its AuditEvent cannot be written', async () => {
    const sqlite = SqliteStore.open(':memory:');
    // a store whose audit trail fails inside transactions (the change's own transaction)
    const failingAudit = (tx: PatientStore): PatientStore =>
      new Proxy(tx, {
        get(target, name, receiver) {
          if (name === 'audit') return { ...target.audit, append: () => Promise.reject(new Error('disk full')) };
          if (name === 'transaction') return <T>(work: (inner: PatientStore) => Promise<T>) => target.transaction((inner) => work(failingAudit(inner)));
          return Reflect.get(target, name, receiver) as unknown;
        },
      });
    const store = new Proxy(sqlite, {
      get(target, name, receiver) {
        if (name === 'transaction') return <T>(work: (inner: PatientStore) => Promise<T>) => target.transaction((inner) => work(failingAudit(inner)));
        return Reflect.get(target, name, receiver) as unknown;
      },
    });
    const t = testApp({ store });
    const http = asActor(t.app);
    const id = 'held-1';
    const resource = { ...samplePatient(2), id, meta: { versionId: '1', lastUpdated: new Date().toISOString() } };
    await sqlite.create(buildPatientRecord(resource, 'active', { uniqueContacts: true }));
    const res = await http.post(`/fhir/Patient/${id}/$investigation-start`).set('Content-Type', FHIR).send(JSON.stringify(notesBody('x')));
    expect([res.status, errorCode(res.body)]).to.deep.equal([503, 'AUDIT_UNAVAILABLE']);
    expect((await sqlite.read(id))?.resource.meta?.versionId).to.equal('1');
    expect(sqlite.db.prepare('SELECT COUNT(*) AS n FROM outbox_event').get()).to.deep.equal({ n: 0 });
    await sqlite.close();
  });
});
