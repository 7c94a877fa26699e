import { expect } from 'chai';
import request from 'supertest';
import type { Patient } from 'fhir/r4.js';
import { asActor } from '../support/tokens.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { errorCode } from '../support/outcome.js';

const FHIR = 'application/fhir+json';

async function create(t: TestApp, patient: Patient = samplePatient()) {
  const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(patient));
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body as Patient & { id: string };
}

describe('Patient REST core', () => {
  let t: TestApp;
  beforeEach(() => {
    t = testApp();
  });
  afterEach(async () => {
    await t.store.close();
  });

  describe('POST /fhir/Patient', () => {
    it('assigns a UUIDv4 id and version 1, and answers 201 with Location, ETag and Last-Modified', async () => {
      const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(1)));
      expect(res.status).to.equal(201);
      expect(res.body.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(res.body.meta.versionId).to.equal('1');
      expect(res.headers.location).to.equal(`/fhir/Patient/${res.body.id}/_history/1`);
      expect(res.headers.etag).to.equal('W/"1"');
      expect(new Date(res.headers['last-modified']!).getTime()).to.be.closeTo(Date.parse(res.body.meta.lastUpdated), 1000);
      expect(res.headers['content-type']).to.match(/^application\/fhir\+json/);
      const stored = await t.store.read(res.body.id);
      expect(stored?.resource.name).to.deep.equal(samplePatient(1).name);
    });

    it('accepts application/json and the DSTU2 application/json+fhir too', async () => {
      const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', 'application/json').send(samplePatient(2));
      expect(res.status).to.equal(201);
      const legacy = await asActor(t.app).post('/fhir/Patient').set('Content-Type', 'application/json+fhir').send(JSON.stringify(samplePatient(6)));
      expect(legacy.status).to.equal(201);
    });

    it('honours Prefer: return=minimal and return=OperationOutcome', async () => {
      const minimal = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('Prefer', 'return=minimal').send(JSON.stringify(samplePatient(3)));
      expect(minimal.status).to.equal(201);
      expect(minimal.text).to.equal('');
      expect(minimal.headers.location).to.match(/\/_history\/1$/);
      const oo = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('Prefer', 'return=OperationOutcome').send(JSON.stringify(samplePatient(4)));
      expect(oo.status).to.equal(201);
      expect(oo.body.resourceType).to.equal('OperationOutcome');
    });

    it('replaces a client-sent id with its own', async () => {
      const body = { ...samplePatient(5), id: 'client-chosen' };
      const created = await create(t, body);
      expect(created.id).to.not.equal('client-chosen');
    });
  });

  describe('GET /fhir/Patient/:id', () => {
    it('reads the current version with its ETag', async () => {
      const created = await create(t);
      const res = await asActor(t.app).get(`/fhir/Patient/${created.id}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(created);
      expect(res.headers.etag).to.equal('W/"1"');
    });

    it('honours _elements and _summary on read and vread, tagging the part SUBSETTED', async () => {
      const created = await create(t);
      for (const path of [`/fhir/Patient/${created.id}`, `/fhir/Patient/${created.id}/_history/1`]) {
        const res = await asActor(t.app).get(`${path}?_elements=gender,birthDate`);
        expect(res.status, path).to.equal(200);
        expect(Object.keys(res.body).sort(), path).to.deep.equal(['birthDate', 'gender', 'id', 'meta', 'resourceType']);
        expect(res.body.meta.tag.map((c: { code: string }) => c.code), path).to.include('SUBSETTED');
        expect(res.headers.etag, path).to.equal('W/"1"');
      }
      const summary = await asActor(t.app).get(`/fhir/Patient/${created.id}?_summary=true`);
      expect(summary.body.name).to.deep.equal(created.name);
      expect(created, 'the sample has a non-summary element').to.have.property('communication');
      expect(summary.body).to.not.have.property('communication');
      const whole = await asActor(t.app).get(`/fhir/Patient/${created.id}?_summary=false`);
      expect(whole.body).to.deep.equal(created);
    });

    it('answers 400 INVALID_PARAMETER to _summary=count or a bad _elements on read', async () => {
      const created = await create(t);
      for (const query of ['_summary=count', '_summary=yes', '_elements=1x', '_elements=a&_elements=b']) {
        const res = await asActor(t.app).get(`/fhir/Patient/${created.id}?${query}`);
        expect(res.status, query).to.equal(400);
        expect(errorCode(res.body), query).to.equal('INVALID_PARAMETER');
      }
    });

    it('answers 404 for an id that never existed', async () => {
      const res = await asActor(t.app).get('/fhir/Patient/00000000-0000-4000-8000-000000000000');
      expect(res.status).to.equal(404);
      expect(res.body.resourceType).to.equal('OperationOutcome');
      expect(errorCode(res.body)).to.equal('NOT_FOUND');
    });

    it('answers 400 INVALID_ID for an id that is not a FHIR id', async () => {
      for (const id of ['a'.repeat(65), 'bad_id', 'x%20y', '%F0%9F%98%80']) {
        const res = await asActor(t.app).get(`/fhir/Patient/${id}`);
        expect(res.status, id).to.equal(400);
        expect(errorCode(res.body), id).to.equal('INVALID_ID');
      }
    });

    it('answers 304 to a matching If-None-Match and to a fresh If-Modified-Since', async () => {
      const created = await create(t);
      const etag = await asActor(t.app).get(`/fhir/Patient/${created.id}`).set('If-None-Match', 'W/"1"');
      expect(etag.status).to.equal(304);
      const other = await asActor(t.app).get(`/fhir/Patient/${created.id}`).set('If-None-Match', 'W/"7"');
      expect(other.status).to.equal(200);
      const since = await asActor(t.app)
        .get(`/fhir/Patient/${created.id}`)
        .set('If-Modified-Since', new Date(Date.now() + 60_000).toUTCString());
      expect(since.status).to.equal(304);
    });
  });

  describe('PUT /fhir/Patient/:id', () => {
    async function update(id: string, body: unknown, ifMatch?: string) {
      const req = asActor(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR);
      if (ifMatch !== undefined) req.set('If-Match', ifMatch);
      return req.send(JSON.stringify(body));
    }

    it('writes version 2, 3 … and keeps every version', async () => {
      const created = await create(t);
      const v2 = await update(created.id, { ...created, gender: 'other' }, 'W/"1"');
      expect(v2.status).to.equal(200);
      expect(v2.body.meta.versionId).to.equal('2');
      expect(v2.headers.etag).to.equal('W/"2"');
      const v3 = await update(created.id, { ...v2.body, active: false }, 'W/"2"');
      expect(v3.body.meta.versionId).to.equal('3');
      const v1 = await asActor(t.app).get(`/fhir/Patient/${created.id}/_history/1`);
      expect(v1.status).to.equal(200);
      expect(v1.body.gender).to.equal(created.gender);
      expect(v1.headers.etag).to.equal('W/"1"');
    });

    it('answers 412 VERSION_CONFLICT to a stale If-Match', async () => {
      const created = await create(t);
      await update(created.id, { ...created, gender: 'other' }, 'W/"1"');
      const stale = await update(created.id, { ...created, gender: 'unknown' }, 'W/"1"');
      expect(stale.status).to.equal(412);
      expect(errorCode(stale.body)).to.equal('VERSION_CONFLICT');
      expect((await t.store.read(created.id))?.resource.gender).to.equal('other');
    });

    it('answers 428 when If-Match is missing, and 400 when it is garbled', async () => {
      const created = await create(t);
      const missing = await update(created.id, created);
      expect(missing.status).to.equal(428);
      expect(errorCode(missing.body)).to.equal('IF_MATCH_REQUIRED');
      const garbled = await update(created.id, created, 'version one');
      expect(garbled.status).to.equal(400);
      expect(errorCode(garbled.body)).to.equal('INVALID_HEADER');
    });

    it('does not require If-Match when REQUIRE_IF_MATCH=false', async () => {
      await t.store.close();
      t = testApp({ env: { REQUIRE_IF_MATCH: 'false' } });
      const created = await create(t);
      const res = await update(created.id, { ...created, gender: 'other' });
      expect(res.status).to.equal(200);
      expect(res.body.meta.versionId).to.equal('2');
    });

    it('answers 400 ID_MISMATCH when the body id differs from the URL', async () => {
      const created = await create(t);
      const res = await update(created.id, { ...created, id: 'another-id' }, 'W/"1"');
      expect(res.status).to.equal(400);
      expect(errorCode(res.body)).to.equal('ID_MISMATCH');
    });

    it('answers 404 for an unknown id (ids are assigned by the server)', async () => {
      const body = { ...samplePatient(), id: '00000000-0000-4000-8000-000000000000' };
      const res = await update(body.id, body, 'W/"1"');
      expect(res.status).to.equal(404);
    });

    it('answers 412 when the body meta.versionId disagrees with the current version', async () => {
      const created = await create(t);
      const res = await update(created.id, { ...created, meta: { versionId: '9' } }, 'W/"1"');
      expect(res.status).to.equal(412);
    });

    it('keeps the version when nothing changed', async () => {
      const created = await create(t);
      const res = await update(created.id, created, 'W/"1"');
      expect(res.status).to.equal(200);
      expect(res.body.meta.versionId).to.equal('1');
    });
  });

  describe('GET /fhir/Patient/:id/_history', () => {
    it('answers a history Bundle, newest first, with _count paging and _since', async () => {
      const created = await create(t);
      let current: Patient = created;
      for (let v = 1; v <= 4; v++) {
        const res = await asActor(t.app)
          .put(`/fhir/Patient/${created.id}`)
          .set('Content-Type', FHIR)
          .set('If-Match', `W/"${v}"`)
          .send(JSON.stringify({ ...current, active: v % 2 === 0 }));
        expect(res.status).to.equal(200);
        current = res.body;
      }
      const page1 = await asActor(t.app).get(`/fhir/Patient/${created.id}/_history?_count=2`);
      expect(page1.status).to.equal(200);
      expect(page1.body.type).to.equal('history');
      expect(page1.body.total).to.equal(5);
      expect(page1.body.entry.map((e: { resource: Patient }) => e.resource.meta?.versionId)).to.deep.equal(['5', '4']);
      expect(page1.body.entry[0].request).to.deep.equal({ method: 'PUT', url: `Patient/${created.id}` });
      const next = page1.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
      const page2 = await asActor(t.app).get(new URL(next).pathname + new URL(next).search);
      expect(page2.body.entry.map((e: { resource: Patient }) => e.resource.meta?.versionId)).to.deep.equal(['3', '2']);
      const future = await asActor(t.app).get(`/fhir/Patient/${created.id}/_history?_since=${new Date(Date.now() + 60_000).toISOString()}`);
      expect(future.body.total).to.equal(0);
      const bad = await asActor(t.app).get(`/fhir/Patient/${created.id}/_history?_count=-1`);
      expect(bad.status).to.equal(400);
    });

    it('answers 404 for an unknown patient', async () => {
      const res = await asActor(t.app).get('/fhir/Patient/00000000-0000-4000-8000-000000000000/_history');
      expect(res.status).to.equal(404);
    });

    it('answers 404 VERSION_NOT_FOUND for an unknown version', async () => {
      const created = await create(t);
      const res = await asActor(t.app).get(`/fhir/Patient/${created.id}/_history/9`);
      expect(res.status).to.equal(404);
      expect(errorCode(res.body)).to.equal('VERSION_NOT_FOUND');
    });
  });

  describe('uniqueness', () => {
    it('answers 409 DUPLICATE_IDENTIFIER to a second patient with the same identifier', async () => {
      const first = samplePatient(10);
      await create(t, first);
      const second = { ...samplePatient(11), identifier: first.identifier };
      const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(second));
      expect(res.status).to.equal(409);
      expect(errorCode(res.body)).to.equal('DUPLICATE_IDENTIFIER');
      expect(JSON.stringify(res.body)).to.not.include(first.identifier![0]!.value!);
    });

    it('lets exactly one of two simultaneous creates with one identifier win', async () => {
      const a = samplePatient(12);
      const b = { ...samplePatient(13), identifier: a.identifier };
      const results = await Promise.all(
        [a, b].map((p) => asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(p))),
      );
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409]);
    });

    it('answers 409 DUPLICATE_CONTACT to a second patient with the same email, unless UNIQUE_CONTACTS=false', async () => {
      const first = { ...samplePatient(14), telecom: [{ system: 'email' as const, value: 'same@example.org' }] };
      await create(t, first);
      const second = { ...samplePatient(15), telecom: [{ system: 'email' as const, value: 'SAME@example.org' }] };
      const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(second));
      expect(res.status).to.equal(409);
      expect(errorCode(res.body)).to.equal('DUPLICATE_CONTACT');

      await t.store.close();
      t = testApp({ env: { UNIQUE_CONTACTS: 'false' } });
      await create(t, first);
      await create(t, second);
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the original status, Location and ETag and creates nothing new', async () => {
      const body = JSON.stringify(samplePatient(20));
      const first = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('Idempotency-Key', 'k-1').send(body);
      const again = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('Idempotency-Key', 'k-1').send(body);
      expect(first.status).to.equal(201);
      expect(again.status).to.equal(201);
      expect(again.headers.location).to.equal(first.headers.location);
      expect(again.headers.etag).to.equal(first.headers.etag);
      expect(again.body.id).to.equal(first.body.id);
    });

    it('answers 409 IDEMPOTENCY_KEY_REUSED to the same key with another body', async () => {
      await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('Idempotency-Key', 'k-2').send(JSON.stringify(samplePatient(21)));
      const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('Idempotency-Key', 'k-2').send(JSON.stringify(samplePatient(22)));
      expect(res.status).to.equal(409);
      expect(errorCode(res.body)).to.equal('IDEMPOTENCY_KEY_REUSED');
    });

    it('stores no PHI and not even the key itself', async () => {
      const patient = samplePatient(23);
      await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('Idempotency-Key', 'my-key-abc').send(JSON.stringify(patient));

      const rows = (t.store as unknown as { db: import("better-sqlite3").Database }).db.prepare('SELECT * FROM idempotency').all();
      const text = JSON.stringify(rows);
      expect(rows).to.have.length(1);
      expect(text).to.not.include('my-key-abc');
      expect(text).to.not.include(patient.name![0]!.family!);
    });
  });
}
);
