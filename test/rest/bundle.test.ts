import { expect } from 'chai';
import type { Bundle, BundleEntry, Patient } from 'fhir/r4.js';
import type { PatientStore } from '../../src/store/port.js';
import { asActor, hsToken } from '../support/tokens.js';
import type { TestApp } from '../support/test-app.js';
import { describeEachEngine } from '../support/engines.js';
import { samplePatient } from '../support/patients.js';
import { create, errorCode, FHIR, identifierQuery } from './rest-fixture.js';

const A = 'urn:uuid:6f1c0a52-3f57-4d51-9d63-0d6a7e1b2c01';
const B = 'urn:uuid:6f1c0a52-3f57-4d51-9d63-0d6a7e1b2c02';

const post = (fullUrl: string | undefined, resource: Patient, extra: Partial<NonNullable<BundleEntry['request']>> = {}): BundleEntry => ({
  ...(fullUrl ? { fullUrl } : {}),
  resource,
  request: { method: 'POST', url: 'Patient', ...extra },
});
const bundle = (type: string, entry: BundleEntry[]) => ({ resourceType: 'Bundle', type, entry });
const send = (t: TestApp, body: unknown, token?: string) =>
  asActor(t.app, token).post('/fhir').set('Content-Type', FHIR).send(JSON.stringify(body));

async function patientCount(store: PatientStore): Promise<number> {
  return (await store.historyAcrossPatients({ count: 1000 })).versions.length;
}
async function auditCount(store: PatientStore): Promise<number> {
  return (await store.audit.search({ where: [], descending: true, count: 1, total: true })).total ?? 0;
}

describeEachEngine('POST /fhir (batch and transaction)', (engine) => {
  let t: TestApp;
  beforeEach(async function () {
    this.timeout(60_000);
    t = await engine.start({ env: { MAX_BUNDLE_ENTRIES: '10' } });
  });
  afterEach(async () => {
    await engine.stop(t);
  });

  describe('transaction', () => {
    it('creates every entry and rewrites urn:uuid references to the new ids', async () => {
      const linked = { ...samplePatient(40), link: [{ other: { reference: A }, type: 'seealso' as const }] };
      const res = await send(t, bundle('transaction', [post(B, linked), post(A, samplePatient(41))]));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const body = res.body as Bundle;
      expect(body.type).to.equal('transaction-response');
      const [first, second] = body.entry!;
      expect(first!.response!.status).to.equal('201');
      expect(second!.response!.location).to.match(/^Patient\/[0-9a-f-]{36}\/_history\/1$/);
      expect(second!.response!.etag).to.equal('W/"1"');
      const aId = (second!.resource as Patient).id!;
      const stored = await t.store.read((first!.resource as Patient).id!);
      expect(stored?.resource.link?.[0]?.other.reference).to.equal(`Patient/${aId}`);
    });

    it('persists nothing when its last entry is invalid', async () => {
      const invalid = { ...samplePatient(44), birthDate: '2999-01-01' };
      const res = await send(t, bundle('transaction', [post(A, samplePatient(42)), post(B, samplePatient(43)), post(undefined, invalid)]));
      expect(res.status).to.equal(422);
      expect(res.body.issue[0].expression[0]).to.equal('Bundle.entry[2]');
      expect(await patientCount(t.store)).to.equal(0);
    });

    it('runs DELETE, POST, PUT/PATCH, GET in that order and resolves conditional references', async () => {
      const gone = await create(t, samplePatient(45));
      const kept = await create(t, samplePatient(46));
      const patchOps = Buffer.from(JSON.stringify([{ op: 'replace', path: '/gender', value: 'other' }])).toString('base64');
      const withRef = { ...samplePatient(47), link: [{ other: { reference: `Patient?${identifierQuery(kept)}` }, type: 'seealso' as const }] };
      const res = await send(t, bundle('transaction', [
        { request: { method: 'GET', url: `Patient/${kept.id}` } },
        { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patchOps } as never, request: { method: 'PATCH', url: `Patient/${kept.id}`, ifMatch: 'W/"1"' } },
        post(A, withRef),
        { request: { method: 'DELETE', url: `Patient/${gone.id}` } },
      ]));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const statuses = (res.body as Bundle).entry!.map((e) => e.response!.status);
      expect(statuses).to.deep.equal(['200', '200', '201', '204']);
      // the GET ran last: it sees the patch
      expect(((res.body as Bundle).entry![0]!.resource as Patient).gender).to.equal('other');
      const created = (res.body as Bundle).entry![2]!.resource as Patient;
      expect(created.link?.[0]?.other.reference).to.equal(`Patient/${kept.id}`);
      expect((await t.store.read(gone.id))?.state).to.equal('soft-deleted');
    });

    it('answers 400 INVALID_BUNDLE for duplicate fullUrls', async () => {
      const res = await send(t, bundle('transaction', [post(A, samplePatient(48)), post(A, samplePatient(49))]));
      expect(res.status).to.equal(400);
      expect(errorCode(res.body)).to.equal('INVALID_BUNDLE');
      expect(await patientCount(t.store)).to.equal(0);
    });

    it('answers 400 UNRESOLVED_REFERENCE for a reference to an unknown urn:uuid', async () => {
      const linked = { ...samplePatient(50), link: [{ other: { reference: B }, type: 'seealso' as const }] };
      const res = await send(t, bundle('transaction', [post(A, linked)]));
      expect(res.status).to.equal(400);
      expect(errorCode(res.body)).to.equal('UNRESOLVED_REFERENCE');
      expect(await patientCount(t.store)).to.equal(0);
    });

    it('fails whole (403) when the token may not perform one entry', async () => {
      const reader = hsToken({ sub: 'reader', scope: 'user/Patient.rs' });
      const p = await create(t, samplePatient(51));
      const res = await send(t, bundle('transaction', [{ request: { method: 'GET', url: `Patient/${p.id}` } }, post(A, samplePatient(52))]), reader);
      expect(res.status).to.equal(403);
      expect(await patientCount(t.store)).to.equal(1);
    });
  });

  describe('bundle checks', () => {
    it('answers 400 INVALID_BUNDLE for a Bundle of another type', async () => {
      const res = await send(t, bundle('collection', [post(A, samplePatient(53))]));
      expect(res.status).to.equal(400);
      expect(errorCode(res.body)).to.equal('INVALID_BUNDLE');
      expect((await send(t, samplePatient(53))).status).to.equal(400);
    });

    it('answers 413 over MAX_BUNDLE_ENTRIES', async () => {
      const entries = Array.from({ length: 11 }, (_, i) => post(undefined, samplePatient(60 + i)));
      const res = await send(t, bundle('batch', entries));
      expect(res.status).to.equal(413);
      expect(errorCode(res.body)).to.equal('PAYLOAD_TOO_LARGE');
      expect(await patientCount(t.store)).to.equal(0);
    });
  });

  describe('batch', () => {
    it('answers each entry on its own and keeps the ones that succeed', async () => {
      const linked = { ...samplePatient(55), link: [{ other: { reference: A }, type: 'seealso' as const }] };
      const res = await send(t, bundle('batch', [
        post(undefined, samplePatient(54)),
        post(undefined, { ...samplePatient(56), birthDate: '2999-01-01' }),
        { request: { method: 'GET', url: 'Patient/0e4b1d6e-0000-4000-8000-000000000000' } },
        post(undefined, linked),
        { request: { method: 'GET', url: 'Nonsense/1' } },
      ]));
      expect(res.status).to.equal(200);
      const entries = (res.body as Bundle).entry!;
      expect((res.body as Bundle).type).to.equal('batch-response');
      expect(entries.map((e) => e.response!.status)).to.deep.equal(['201', '422', '404', '400', '404']);
      expect(entries[1]!.response!.outcome!.resourceType).to.equal('OperationOutcome');
      expect(await patientCount(t.store)).to.equal(1);
    });

    it('answers a search entry with its searchset Bundle, each match as stored', async () => {
      const found = await create(t, samplePatient(58));
      const res = await send(t, bundle('batch', [{ request: { method: 'GET', url: `Patient?${identifierQuery(found)}` } }]));
      expect(res.status).to.equal(200);
      const searchset = (res.body as Bundle).entry![0]!.resource as Bundle;
      expect(searchset.type).to.equal('searchset');
      expect(searchset.total).to.equal(1);
      expect(searchset.entry!.map((e) => e.resource)).to.deep.equal([(await t.store.read(found.id!))!.resource]);
    });

    it('writes one AuditEvent per entry and one for the Bundle', async () => {
      const before = await auditCount(t.store);
      await send(t, bundle('batch', [post(undefined, samplePatient(57)), { request: { method: 'GET', url: 'Patient/0e4b1d6e-0000-4000-8000-000000000000' } }]));
      expect((await auditCount(t.store)) - before).to.equal(3);
    });
  });
});
