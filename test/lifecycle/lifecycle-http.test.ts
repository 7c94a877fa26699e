import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { PATIENT_DELETION_URL } from '../../src/patient/extensions.js';
import { deletionInfo } from '../../src/lifecycle/lifecycle-extensions.js';
import { DELETION_GRACE_URL } from '../../src/lifecycle/deleted-list.js';
import { anonymizeExpired, runAnonymizationSweep } from '../../src/lifecycle/sweep.js';
import { describeEachEngine } from '../support/engines.js';
import { samplePatient } from '../support/patients.js';
import { adminToken, asActor } from '../support/tokens.js';
import { DAY, FHIR, bed, closeBed, correlationCount, create, errorCode, eventTypes, events, notesBody, op, warmSchema, type Bed } from './lifecycle-fixture.js';

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describeEachEngine('deletion lifecycle over HTTP', (engine) => {
  let b: Bed;
  before(warmSchema);
  beforeEach(async function () {
    this.timeout(60_000);
    b = await bed(engine);
  });
  afterEach(() => closeBed(b));

  describe('DELETE /fhir/Patient/:id', () => {
    it('soft-deletes with reason, note, requestedBy and a grace period of DELETION_GRACE_PERIOD', async () => {
      const { id } = await create(b);
      const res = await b.http.delete(`/fhir/Patient/${id}?reason=gdpr-erasure&note=asked%20by%20phone`);
      expect(res.status).to.equal(204);
      expect(res.headers.etag).to.equal('W/"2"');
      const stored = await b.store.read(id);
      expect(stored?.state).to.equal('soft-deleted');
      expect(deletionInfo(stored!.resource)).to.deep.equal({
        status: 'soft-deleted',
        reason: 'gdpr-erasure',
        note: 'asked by phone',
        requestedBy: 'admin-1',
        softDeletedAt: '2026-03-01T10:00:00.000Z',
        graceExpiresAt: '2026-03-08T10:00:00.000Z',
      });
      const [event] = (await events(b)).filter((e) => e.type === 'identity.patient.soft_deleted');
      expect(event?.data).to.include({ reason: 'gdpr-erasure', grace_expires_at: '2026-03-08T10:00:00.000Z' });
    });

    it('keeps every version in history, the deletion as a DELETE entry', async () => {
      const { id } = await create(b);
      await b.http.delete(`/fhir/Patient/${id}`);
      const res = await b.http.get(`/fhir/Patient/${id}/_history`);
      expect(res.status).to.equal(200);
      expect(res.body.total).to.equal(2);
      expect(res.body.entry.map((e: { request: { method: string } }) => e.request.method)).to.deep.equal(['DELETE', 'POST']);
    });

    it('answers 400 for a reason outside the CodeSystem', async () => {
      const { id } = await create(b);
      const res = await b.http.delete(`/fhir/Patient/${id}?reason=bored`);
      expect(res.status).to.equal(400);
      expect(errorCode(res.body)).to.equal('INVALID_PARAMETER');
      expect((await b.store.read(id))?.state).to.equal('active');
    });

    it('answers 422 for a note longer than 1000 characters', async () => {
      const { id } = await create(b);
      const res = await b.http.delete(`/fhir/Patient/${id}?note=${'x'.repeat(1001)}`);
      expect(res.status).to.equal(422);
      expect(errorCode(res.body)).to.equal('BUSINESS_RULE');
    });

    it('answers 404 for an unknown id, on every operation', async () => {
      expect((await b.http.delete(`/fhir/Patient/${UNKNOWN}`)).status).to.equal(404);
      for (const name of ['$restore', '$anonymize', '$investigation-end']) {
        expect((await op(b, UNKNOWN, name)).status, name).to.equal(404);
      }
      expect((await op(b, UNKNOWN, '$investigation-start', notesBody('x'))).status).to.equal(404);
    });

    it('answers 412 for a stale If-Match', async () => {
      const { id } = await create(b);
      const res = await b.http.delete(`/fhir/Patient/${id}`).set('If-Match', 'W/"7"');
      expect(res.status).to.equal(412);
    });

    it('frees the identifier for a new patient', async () => {
      const { id } = await create(b, samplePatient(3));
      await b.http.delete(`/fhir/Patient/${id}`);
      await create(b, samplePatient(3));
    });
  });

  describe('$investigation-start', () => {
    it('answers 422 for notes longer than 1000 characters, 400 for a body that is not Parameters', async () => {
      const { id } = await create(b);
      const long = await op(b, id, '$investigation-start', notesBody('n'.repeat(1001)));
      expect(long.status).to.equal(422);
      expect(long.body.issue[0].expression).to.deep.equal(['Parameters.parameter[0].valueString']);
      const wrong = await op(b, id, '$investigation-start', { resourceType: 'Patient' });
      expect(wrong.status).to.equal(400);
    });

    it('records the hold with notes, startedAt and startedBy; $investigation-end removes it', async () => {
      const { id } = await create(b);
      const res = await op(b, id, '$investigation-start', notesBody('chargeback dispute'));
      expect(res.status).to.equal(200);
      const hold = (res.body as Patient).extension?.find((e) => e.url.endsWith('/patient-investigation'));
      expect(hold?.extension).to.deep.equal([
        { url: 'active', valueBoolean: true },
        { url: 'notes', valueString: 'chargeback dispute' },
        { url: 'startedAt', valueInstant: '2026-03-01T10:00:00.000Z' },
        { url: 'startedBy', valueString: 'admin-1' },
      ]);
      const ended = await op(b, id, '$investigation-end');
      expect(ended.status).to.equal(200);
      expect((ended.body as Patient).extension?.some((e) => e.url.endsWith('/patient-investigation'))).to.equal(false);
    });
  });

  describe('$restore', () => {
    it('returns the active Patient without the deletion extension and clears the correlation hashes', async () => {
      const { id } = await create(b);
      await b.http.delete(`/fhir/Patient/${id}`);
      expect(await correlationCount(b, id)).to.be.greaterThan(0);
      const res = await op(b, id, '$restore');
      expect(res.status).to.equal(200);
      expect(res.body.meta.versionId).to.equal('3');
      expect((res.body as Patient).extension?.some((e) => e.url === PATIENT_DELETION_URL) ?? false).to.equal(false);
      expect((await b.http.get(`/fhir/Patient/${id}`)).status).to.equal(200);
      expect(await correlationCount(b, id)).to.equal(0);
    });

    it('answers 409 DUPLICATE_IDENTIFIER when another patient took the identifier meanwhile', async () => {
      const { id } = await create(b, samplePatient(4));
      await b.http.delete(`/fhir/Patient/${id}`);
      await create(b, samplePatient(4));
      const res = await op(b, id, '$restore');
      expect(res.status).to.equal(409);
      expect(errorCode(res.body)).to.equal('DUPLICATE_IDENTIFIER');
      expect((await b.store.read(id))?.state).to.equal('soft-deleted');
      expect(await eventTypes(b, id)).to.not.include('identity.patient.restored');
    });

    it('races the sweep: exactly one wins and exactly one event is written', async () => {
      const { id } = await create(b);
      await b.http.delete(`/fhir/Patient/${id}`);
      b.clock.advance(8 * DAY);
      // the sweep has picked its candidates, then $restore commits first
      const candidates = await b.store.findExpiredSoftDeleted(b.clock.now(), 10);
      expect(candidates).to.deep.equal([id]);
      const restored = await op(b, id, '$restore');
      expect(restored.status).to.equal(200);
      expect(await anonymizeExpired(b.store, id, b.clock.now())).to.equal(false);
      expect((await b.store.read(id))?.state).to.equal('active');
      // and concurrently, from both sides at once
      const other = await create(b, samplePatient(9));
      await b.http.delete(`/fhir/Patient/${other.id}`);
      b.clock.advance(8 * DAY);
      const [res, sweep] = await Promise.all([op(b, other.id, '$restore'), runAnonymizationSweep(b.store, { now: b.clock.now() })]);
      const kinds = (await eventTypes(b, other.id)).filter((t) => t === 'identity.patient.restored' || t === 'identity.patient.anonymized');
      expect(kinds).to.have.length(1);
      if (res.status === 200) {
        expect(sweep.anonymized).to.equal(0);
        expect(kinds).to.deep.equal(['identity.patient.restored']);
      } else {
        expect(errorCode(res.body)).to.equal('ALREADY_ANONYMIZED');
        expect(sweep.anonymized).to.equal(1);
      }
    });
  });

  describe('sweep', () => {
    it('anonymizes only patients past graceExpiresAt, in batches, and is idempotent', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const { id } = await create(b, samplePatient(20 + i));
        await b.http.delete(`/fhir/Patient/${id}`);
        ids.push(id);
        b.clock.advance(DAY);
      }
      // now = first deletion + 7 days: the first one has just expired
      expect((await runAnonymizationSweep(b.store, { now: b.clock.now(), batchSize: 2 })).anonymized).to.equal(1);
      b.clock.advance(10 * DAY);
      expect((await runAnonymizationSweep(b.store, { now: b.clock.now(), batchSize: 2 })).anonymized).to.equal(6);
      expect((await runAnonymizationSweep(b.store, { now: b.clock.now(), batchSize: 2 })).anonymized).to.equal(0);
      for (const id of ids) expect((await b.store.read(id))?.state).to.equal('anonymized');
      expect((await eventTypes(b)).filter((t) => t === 'identity.patient.anonymized')).to.have.length(7);
    });
  });

  describe('GET /fhir/Patient/$deleted', () => {
    it('lists soft-deleted patients newest deletion first with graceExpiresAt and seconds remaining, paged', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { id } = await create(b, samplePatient(40 + i));
        await b.http.delete(`/fhir/Patient/${id}`);
        ids.push(id);
        b.clock.advance(60_000);
      }
      const page1 = await b.http.get('/fhir/Patient/$deleted?_count=2');
      expect(page1.status).to.equal(200);
      expect(page1.body.type).to.equal('searchset');
      expect(page1.body.total).to.equal(3);
      expect(page1.body.entry.map((e: { resource: Patient }) => e.resource.id)).to.deep.equal([ids[2], ids[1]]);
      const grace = page1.body.entry[0].extension.find((e: { url: string }) => e.url === DELETION_GRACE_URL);
      expect(grace.extension).to.deep.equal([
        { url: 'graceExpiresAt', valueInstant: '2026-03-08T10:02:00.000Z' },
        { url: 'secondsRemaining', valueInteger: 7 * 24 * 3600 - 60 },
      ]);
      const next = page1.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
      const page2 = await b.http.get(new URL(next).pathname + new URL(next).search);
      expect(page2.status).to.equal(200);
      expect(page2.body.entry.map((e: { resource: Patient }) => e.resource.id)).to.deep.equal([ids[0]]);
      expect(page2.body.link.some((l: { relation: string }) => l.relation === 'next')).to.equal(false);

      await op(b, ids[0]!, '$anonymize');
      const anonymized = await b.http.get('/fhir/Patient/$deleted?status=anonymized');
      expect(anonymized.body.entry.map((e: { resource: Patient }) => e.resource.id)).to.deep.equal([ids[0]]);
      expect((await b.http.get('/fhir/Patient/$deleted?status=gone')).status).to.equal(400);
      expect((await b.http.get('/fhir/Patient/$deleted?_cursor=forged.token')).status).to.equal(400);
    });
  });

  describe('an admin token confined to one patient', () => {
    it('reaches only that patient with the lifecycle operations (404 elsewhere) and may not list $deleted (403)', async () => {
      const own = await create(b, samplePatient(60));
      const other = await create(b, samplePatient(61));
      expect((await b.http.delete(`/fhir/Patient/${other.id}`)).status).to.equal(204);
      const confined = asActor(b.app, adminToken({ sub: 'admin-in-context', patient: own.id, now: Math.floor(b.clock.now().getTime() / 1000), ttl: 3600 }));
      const post = (id: string, name: string) =>
        confined.post(`/fhir/Patient/${id}/${name}`).set('Content-Type', FHIR).send(JSON.stringify({ resourceType: 'Parameters' }));
      for (const name of ['$investigation-start', '$investigation-end', '$restore', '$anonymize']) {
        const res = await post(other.id, name);
        expect(res.status, name).to.equal(404);
        expect(errorCode(res.body), name).to.equal('NOT_FOUND');
      }
      expect((await confined.delete(`/fhir/Patient/${other.id}`)).status).to.equal(404);
      const listing = await confined.get('/fhir/Patient/$deleted');
      expect(listing.status).to.equal(403);
      // nothing happened to the other patient: still soft-deleted, not held
      expect((await b.store.read(other.id))?.state).to.equal('soft-deleted');
      // its own record stays reachable
      expect((await post(own.id, '$investigation-start')).status).to.equal(200);
      expect((await post(own.id, '$investigation-end')).status).to.equal(200);
    });
  });
});
