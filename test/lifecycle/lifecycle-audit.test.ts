import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import type { PatientStore } from '../../src/store/port.js';
import { buildPatientRecord } from '../../src/patient/record.js';
import { describeEachEngine } from '../support/engines.js';
import { testApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { asActor } from '../support/tokens.js';
import { FHIR, auditOf, bed, closeBed, create, errorCode, eventTypes, events, notesBody, op, warmSchema, type Bed } from './lifecycle-fixture.js';

/** `store` whose audit trail fails inside transactions (the change's own transaction). */
function failingAuditInTransactions(store: PatientStore): PatientStore {
  const failing = (tx: PatientStore): PatientStore =>
    new Proxy(tx, {
      get(target, name, receiver) {
        if (name === 'audit') {
          return new Proxy(target.audit, {
            get: (audit, key, r) => (key === 'append' ? () => Promise.reject(new Error('disk full')) : (Reflect.get(audit, key, r) as unknown)),
          });
        }
        if (name === 'transaction') return <T>(work: (inner: PatientStore) => Promise<T>) => target.transaction((inner) => work(failing(inner)));
        return Reflect.get(target, name, receiver) as unknown;
      },
    });
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'transaction') return <T>(work: (inner: PatientStore) => Promise<T>) => target.transaction((inner) => work(failing(inner)));
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
}

describeEachEngine('lifecycle AuditEvents', (engine) => {
  let b: Bed;
  before(warmSchema);
  beforeEach(async function () {
    this.timeout(60_000);
    b = await bed(engine);
  });
  afterEach(() => closeBed(b));

  it('records a returning patient (SPEC §7) in the create transaction, beside the create event', async () => {
    const first = await create(b, samplePatient(0));
    expect((await b.http.delete(`/fhir/Patient/${first.id}`)).status).to.equal(204);
    const again: Patient = { ...samplePatient(0), identifier: [{ system: 'urn:test:returning', value: 'r-1' }] };
    const res = await b.http.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(again));
    expect(res.status).to.equal(201);
    const audits = await auditOf(b, res);
    expect(audits.map((e) => e.subtype?.[0]?.code)).to.deep.equal(['returning-patient', 'create']);
    expect(audits[0]!.entity!.map((e) => e.what?.reference).filter(Boolean)).to.deep.equal([
      `Patient/${res.body.id}/_history/1`,
      `Patient/${first.id}`,
    ]);
    expect(await eventTypes(b, res.body.id)).to.include('identity.patient.returning_user');
  });

  it('writes one AuditEvent per create when no previous patient matches', async () => {
    const res = await b.http.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(1)));
    expect((await auditOf(b, res)).map((e) => e.subtype?.[0]?.code)).to.deep.equal(['create']);
  });

  it('writes exactly one AuditEvent per investigation request', async () => {
    const { id } = await create(b);
    const started = await op(b, id, '$investigation-start', notesBody('billing dispute'));
    expect(started.status).to.equal(200);
    expect((await auditOf(b, started)).map((e) => e.subtype?.[0]?.code)).to.deep.equal(['$investigation-start']);
    const refused = await op(b, id, '$investigation-start', notesBody('again'));
    expect(refused.status).to.equal(409);
    expect(await auditOf(b, refused)).to.have.length(1);
  });

  it('rolls an investigation hold back with its event when its AuditEvent cannot be written', async () => {
    // a second app on the bed's store, whose audit trail fails inside transactions
    const t = testApp({ store: failingAuditInTransactions(b.store) });
    const http = asActor(t.app);
    const id = 'held-1';
    const resource = { ...samplePatient(2), id, meta: { versionId: '1', lastUpdated: new Date().toISOString() } };
    await b.store.create(buildPatientRecord(resource, 'active', { uniqueContacts: true }));
    const res = await http.post(`/fhir/Patient/${id}/$investigation-start`).set('Content-Type', FHIR).send(JSON.stringify(notesBody('x')));
    expect([res.status, errorCode(res.body)]).to.deep.equal([503, 'AUDIT_UNAVAILABLE']);
    expect((await b.store.read(id))?.resource.meta?.versionId).to.equal('1');
    expect(await events(b)).to.deep.equal([]);
    await t.stop();
  });
});
