import { expect } from 'chai';
import request from 'supertest';
import type { AuditEvent, Bundle, Parameters } from 'fhir/r4.js';
import type { TestApp } from '../support/test-app.js';
import { describeEachEngine } from '../support/engines.js';
import { samplePatient } from '../support/patients.js';
import { adminToken, asActor, auditorToken, patientToken, TEST_JWT_SECRET } from '../support/tokens.js';
import type { StoredAudit } from '../../src/audit/audit-port.js';
import { errorCode } from '../support/outcome.js';

const RESTFUL = 'http://hl7.org/fhir/restful-interaction';

/** The events recorded so far, oldest first. */
async function events(t: TestApp): Promise<StoredAudit[]> {
  const page = await t.store.audit.search({ where: [], descending: false, count: 1000, total: false });
  return page.events;
}

async function lastEvent(t: TestApp): Promise<AuditEvent> {
  const all = await events(t);
  return all[all.length - 1]!.resource;
}

function requestor(event: AuditEvent) {
  return event.agent.find((a) => a.requestor)!;
}

describeEachEngine('AuditEvent recording over HTTP', (engine) => {
  let t: TestApp;
  let id: string;

  beforeEach(async function () {
    this.timeout(60_000);
    t = await engine.start();
    const res = await asActor(t.app, adminToken({ sub: 'alice', fhirUser: 'Practitioner/p1' }))
      .post('/fhir/Patient')
      .set('Content-Type', 'application/fhir+json')
      .set('User-Agent', 'audit-test/1.0')
      .send(samplePatient(0));
    expect(res.status).to.equal(201);
    id = res.body.id;
  });
  afterEach(() => engine.stop(t));

  it('records a create as C, subtype create, outcome 0, with the user agent and the versioned patient', async () => {
    const all = await events(t);
    expect(all).to.have.length(1);
    const e = all[0]!.resource;
    expect(e.type).to.deep.include({ system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' });
    expect(e.subtype?.[0]).to.deep.equal({ system: RESTFUL, code: 'create' });
    expect(e.action).to.equal('C');
    expect(e.outcome).to.equal('0');
    const user = requestor(e);
    expect(user.who?.reference).to.equal('Practitioner/p1');
    expect(user.who?.identifier?.value).to.equal('alice');
    expect(user.network?.address).to.be.a('string').and.not.empty;
    expect(user.extension?.[0]?.valueString).to.equal('audit-test/1.0');
    expect(e.source.observer.display).to.match(/\/fhir$/);
    expect(e.entity?.map((x) => x.what?.reference)).to.include(`Patient/${id}/_history/1`);
    // references only: nothing of the patient's content
    expect(JSON.stringify(e)).not.to.include(samplePatient(0).name![0]!.family!);
  });

  it('records read, vread, history and search with their subtypes and entities', async () => {
    const admin = asActor(t.app);
    expect((await admin.get(`/fhir/Patient/${id}`)).status).to.equal(200);
    let e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action, e.outcome]).to.deep.equal(['read', 'R', '0']);
    expect(e.entity?.[0]?.what?.reference).to.equal(`Patient/${id}/_history/1`);

    expect((await admin.get(`/fhir/Patient/${id}/_history/1`)).status).to.equal(200);
    e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action]).to.deep.equal(['vread', 'R']);

    expect((await admin.get(`/fhir/Patient/${id}/_history`)).status).to.equal(200);
    e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action]).to.deep.equal(['history-instance', 'R']);
    expect(e.entity?.[0]?.what?.reference).to.equal(`Patient/${id}/_history/1`);

    expect((await admin.get('/fhir/Patient?gender=female,male,other,unknown')).status).to.equal(200);
    e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action, e.outcome]).to.deep.equal(['search-type', 'E', '0']);
    expect(e.entity?.map((x) => x.what?.reference)).to.include(`Patient/${id}/_history/1`);
    const query = e.entity?.find((x) => x.role?.code === '24')?.query;
    expect(Buffer.from(query!, 'base64').toString()).to.equal('gender=female%2Cmale%2Cother%2Cunknown');
  });

  it('records an update as U in the same transaction as the change', async () => {
    const res = await asActor(t.app)
      .put(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/fhir+json')
      .set('If-Match', 'W/"1"')
      .send({ ...samplePatient(0), id, active: false });
    expect(res.status).to.equal(200);
    const e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action, e.outcome]).to.deep.equal(['update', 'U', '0']);
    expect(e.entity?.[0]?.what?.reference).to.equal(`Patient/${id}/_history/2`);
  });

  it('records refusals: 404, 412, 422, 409 with outcome 4 and no second event', async () => {
    const admin = asActor(t.app);
    expect((await admin.get('/fhir/Patient/does-not-exist')).status).to.equal(404);
    let e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action, e.outcome, e.outcomeDesc]).to.deep.equal(['read', 'R', '4', '404 NOT_FOUND']);
    expect(e.entity?.[0]?.what?.reference).to.equal('Patient/does-not-exist');

    const stale = await admin.put(`/fhir/Patient/${id}`).set('Content-Type', 'application/fhir+json').set('If-Match', 'W/"9"').send({ ...samplePatient(0), id });
    expect(stale.status).to.equal(412);
    e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action, e.outcome]).to.deep.equal(['update', 'U', '4']);

    const invalid = await admin.post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send({ ...samplePatient(1), birthDate: '2999-01-01' });
    expect(invalid.status).to.equal(422);
    e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action, e.outcome]).to.deep.equal(['create', 'C', '4']);

    const duplicate = await admin.post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send(samplePatient(0));
    expect(duplicate.status).to.equal(409);
    e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.outcome]).to.deep.equal(['create', '4']);
    // create + 404 + 412 + 422 + 409: one event each
    expect(await events(t)).to.have.length(5);
  });

  it('records a 410 read of a deleted patient', async () => {
    const del = await asActor(t.app).delete(`/fhir/Patient/${id}`);
    expect(del.status).to.be.oneOf([200, 204]);
    let e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.action, e.outcome]).to.deep.equal(['delete', 'D', '0']);
    expect((await asActor(t.app).get(`/fhir/Patient/${id}`)).status).to.equal(410);
    e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.outcome, e.outcomeDesc]).to.deep.equal(['read', '4', '410 GONE']);
  });

  it('records a 401 without a token as an anonymous refused read', async () => {
    expect((await request(t.app).get(`/fhir/Patient/${id}`)).status).to.equal(401);
    const e = await lastEvent(t);
    expect([e.subtype?.[0]?.code, e.outcome, e.outcomeDesc]).to.deep.equal(['read', '4', '401 UNAUTHORIZED']);
    expect(requestor(e).who?.identifier?.value).to.equal('anonymous');
    expect(e.entity?.[0]?.what?.reference).to.equal(`Patient/${id}`);
  });

  it('serves events read-only to auditors: read, search by patient/action/date, 405 on writes', async () => {
    await asActor(t.app).get(`/fhir/Patient/${id}`);
    const auditor = asActor(t.app, auditorToken());
    const search = await auditor.get(`/fhir/AuditEvent?patient=${id}&action=R&date=ge2000-01-01&_sort=-date`);
    expect(search.status).to.equal(200);
    const bundle = search.body as Bundle;
    expect(bundle.total).to.equal(1);
    const found = bundle.entry![0]!.resource as AuditEvent;
    expect(found.subtype?.[0]?.code).to.equal('read');
    const read = await auditor.get(`/fhir/AuditEvent/${found.id}`);
    expect(read.status).to.equal(200);
    expect(read.body.extension.map((x: { url: string }) => x.url.split('/').pop())).to.include('audit-chain-hash');
    expect((await auditor.get('/fhir/AuditEvent?date=lt2000-01-01')).body.total).to.equal(0);
    expect((await asActor(t.app).post('/fhir/AuditEvent').set('Content-Type', 'application/fhir+json').send(found)).status).to.equal(405);
    expect((await asActor(t.app).delete(`/fhir/AuditEvent/${found.id}`)).status).to.equal(405);
  });

  it('pages AuditEvent searches with keyset cursors, none missing, none twice', async () => {
    for (let i = 0; i < 7; i++) await asActor(t.app).get(`/fhir/Patient/${id}`);
    const auditor = asActor(t.app, auditorToken());
    const seen: string[] = [];
    let url: string | undefined = '/fhir/AuditEvent?_count=3&subtype=read';
    while (url) {
      const res = await auditor.get(url.replace(/^https?:\/\/[^/]+/, ''));
      expect(res.status).to.equal(200);
      seen.push(...(res.body as Bundle).entry!.filter((x) => x.search?.mode === 'match').map((x) => x.resource!.id!));
      url = (res.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
    }
    expect(seen).to.have.length(7);
    expect(new Set(seen).size).to.equal(7);
  });

  it('shows a patient-context token only the events about its own record', async () => {
    const other = await asActor(t.app).post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send(samplePatient(1));
    await asActor(t.app).get(`/fhir/Patient/${other.body.id}`);
    const mine = await asActor(t.app, patientToken(id, { scope: 'patient/Patient.rs patient/AuditEvent.rs' })).get('/fhir/AuditEvent');
    expect(mine.status).to.equal(200);
    const refs = (mine.body as Bundle).entry!.flatMap((x) => (x.resource as AuditEvent).entity ?? []).map((x) => x.what?.reference ?? '');
    expect(refs.some((r) => r.startsWith(`Patient/${id}`))).to.equal(true);
    expect(refs.some((r) => r.startsWith(`Patient/${other.body.id}`))).to.equal(false);
  });

  it('answers $verify with a Parameters resource for an intact chain', async () => {
    const res = await asActor(t.app, auditorToken()).get('/fhir/AuditEvent/$verify');
    expect(res.status).to.equal(200);
    const p = res.body as Parameters;
    expect(p.parameter?.find((x) => x.name === 'result')?.valueBoolean).to.equal(true);
    expect(p.parameter?.find((x) => x.name === 'checked')?.valueInteger).to.be.greaterThan(0);
  });

  it('answers $verify with the head of the chain, and checks a head kept from before as the anchor', async () => {
    const first = (await asActor(t.app, auditorToken()).get('/fhir/AuditEvent/$verify')).body as Parameters;
    const head = first.parameter?.find((x) => x.name === 'head')?.part ?? [];
    const seq = head.find((x) => x.name === 'seq')?.valueInteger;
    const hash = head.find((x) => x.name === 'hash')?.valueString;
    expect(seq).to.be.a('number');
    expect(hash).to.match(/^[0-9a-f]{64}$/);
    await asActor(t.app).get('/fhir/Patient?family=anchor');
    const later = await asActor(t.app, auditorToken()).get(`/fhir/AuditEvent/$verify?anchorSeq=${seq}&anchorHash=${hash}`);
    expect(later.status).to.equal(200);
    const p = later.body as Parameters;
    expect(p.parameter?.find((x) => x.name === 'result')?.valueBoolean).to.equal(true);
    const anchor = p.parameter?.find((x) => x.name === 'anchor')?.part ?? [];
    expect(anchor.find((x) => x.name === 'status')?.valueCode).to.equal('matched');
    const wrong = await asActor(t.app, auditorToken()).get(`/fhir/AuditEvent/$verify?anchorSeq=${seq}&anchorHash=${'0'.repeat(64)}`);
    expect((wrong.body as Parameters).parameter?.find((x) => x.name === 'result')?.valueBoolean).to.equal(false);
  });

  for (const query of ['anchorSeq=1', 'anchorHash=' + 'a'.repeat(64), 'anchorSeq=0&anchorHash=' + 'a'.repeat(64), 'anchorSeq=1&anchorHash=XYZ', 'anchorSeq=1&anchorSeq=2&anchorHash=' + 'a'.repeat(64)]) {
    it(`answers $verify?${query.slice(0, 40)} with 400 INVALID_PARAMETER`, async () => {
      const res = await asActor(t.app, auditorToken()).get(`/fhir/AuditEvent/$verify?${query}`);
      expect(res.status).to.equal(400);
      expect(errorCode(res.body)).to.equal('INVALID_PARAMETER');
    });
  }
});
