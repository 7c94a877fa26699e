import { expect } from 'chai';
import { asActor } from '../support/tokens.js';
import type { TestApp } from '../support/test-app.js';
import { describeEachEngine } from '../support/engines.js';
import { samplePatient } from '../support/patients.js';
import { create, errorCode, FHIR, identifierQuery } from './rest-fixture.js';

/** Two patients sharing the MRN system but nothing unique: a criterion both match (`_id` of either). */
const bothQuery = (a: { id: string }, b: { id: string }) => `_id=${a.id},${b.id}`;

describeEachEngine('conditional interactions', (engine) => {
  let t: TestApp;
  beforeEach(async function () {
    this.timeout(60_000);
    t = await engine.start();
  });
  afterEach(async () => {
    await engine.stop(t);
  });

  describe('POST /fhir/Patient with If-None-Exist', () => {
    it('creates when nothing matches (201), and answers the existing patient when one does (200)', async () => {
      const body = samplePatient(20);
      const criteria = identifierQuery(body);
      const first = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('If-None-Exist', criteria).send(JSON.stringify(body));
      expect(first.status).to.equal(201);
      const again = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('If-None-Exist', criteria).send(JSON.stringify(body));
      expect(again.status).to.equal(200);
      expect(again.body.id).to.equal(first.body.id);
      expect(again.body.meta.versionId).to.equal('1');
    });

    it('creates one patient for two identical conditional creates sent at once', async () => {
      const body = JSON.stringify(samplePatient(21));
      const criteria = identifierQuery(samplePatient(21));
      const send = () => asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('If-None-Exist', criteria).send(body);
      const answers = await Promise.all([send(), send(), send()]);
      expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 200, 201]);
      expect(new Set(answers.map((a) => a.body.id)).size).to.equal(1);
      const search = await asActor(t.app).get(`/fhir/Patient?${criteria}`);
      expect(search.body.total).to.equal(1);
    });

    it('answers 412 MULTIPLE_MATCHES when several patients match', async () => {
      const a = await create(t, samplePatient(22));
      const b = await create(t, samplePatient(23));
      const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('If-None-Exist', bothQuery(a, b)).send(JSON.stringify(samplePatient(24)));
      expect(res.status).to.equal(412);
      expect(errorCode(res.body)).to.equal('MULTIPLE_MATCHES');
    });

    it('answers 400 for unknown criteria rather than ignoring them', async () => {
      const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).set('If-None-Exist', 'shoe-size=12').send(JSON.stringify(samplePatient(25)));
      expect(res.status).to.equal(400);
    });
  });

  describe('PUT /fhir/Patient?criteria', () => {
    it('creates when nothing matches (201)', async () => {
      const body = samplePatient(26);
      const res = await asActor(t.app).put(`/fhir/Patient?${identifierQuery(body)}`).set('Content-Type', FHIR).send(JSON.stringify(body));
      expect(res.status).to.equal(201);
      expect(res.headers.location).to.equal(`/fhir/Patient/${res.body.id}/_history/1`);
    });

    it('updates the one match, with the If-Match rules of PUT', async () => {
      const p = await create(t, samplePatient(27));
      const url = `/fhir/Patient?${identifierQuery(p)}`;
      const body = JSON.stringify({ ...samplePatient(27), gender: 'other' });
      expect((await asActor(t.app).put(url).set('Content-Type', FHIR).send(body)).status).to.equal(428);
      expect((await asActor(t.app).put(url).set('Content-Type', FHIR).set('If-Match', 'W/"3"').send(body)).status).to.equal(412);
      const res = await asActor(t.app).put(url).set('Content-Type', FHIR).set('If-Match', 'W/"1"').send(body);
      expect(res.status).to.equal(200);
      expect(res.body.id).to.equal(p.id);
      expect(res.body.gender).to.equal('other');
      expect(res.headers.etag).to.equal('W/"2"');
    });

    it('answers 400 ID_MISMATCH when the body id disagrees with the match', async () => {
      const p = await create(t, samplePatient(28));
      const other = await create(t, samplePatient(29));
      const res = await asActor(t.app)
        .put(`/fhir/Patient?${identifierQuery(p)}`)
        .set('Content-Type', FHIR)
        .set('If-Match', 'W/"1"')
        .send(JSON.stringify({ ...samplePatient(28), id: other.id }));
      expect(res.status).to.equal(400);
      expect(errorCode(res.body)).to.equal('ID_MISMATCH');
      expect((await t.store.read(p.id))?.resource.meta?.versionId).to.equal('1');
      expect((await t.store.read(other.id))?.resource.meta?.versionId).to.equal('1');
    });

    it('answers 412 MULTIPLE_MATCHES when several match', async () => {
      const a = await create(t, samplePatient(30));
      const b = await create(t, samplePatient(31));
      const res = await asActor(t.app).put(`/fhir/Patient?${bothQuery(a, b)}`).set('Content-Type', FHIR).set('If-Match', 'W/"1"').send(JSON.stringify(samplePatient(30)));
      expect(res.status).to.equal(412);
      expect(errorCode(res.body)).to.equal('MULTIPLE_MATCHES');
    });

    it('answers 400 without criteria', async () => {
      const res = await asActor(t.app).put('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(32)));
      expect(res.status).to.equal(400);
    });
  });

  describe('DELETE /fhir/Patient?criteria', () => {
    it('soft-deletes the one match (204, then 410 on read)', async () => {
      const p = await create(t, samplePatient(33));
      const res = await asActor(t.app).delete(`/fhir/Patient?${identifierQuery(p)}&reason=user-request`);
      expect(res.status).to.equal(204);
      expect(res.headers.etag).to.equal('W/"2"');
      expect((await asActor(t.app).get(`/fhir/Patient/${p.id}`)).status).to.equal(410);
      expect((await t.store.read(p.id))?.state).to.equal('soft-deleted');
    });

    it('answers 404 when nothing matches and 412 when several do', async () => {
      const none = await asActor(t.app).delete(`/fhir/Patient?${identifierQuery(samplePatient(34))}`);
      expect(none.status).to.equal(404);
      const a = await create(t, samplePatient(35));
      const b = await create(t, samplePatient(36));
      const several = await asActor(t.app).delete(`/fhir/Patient?${bothQuery(a, b)}`);
      expect(several.status).to.equal(412);
      expect((await t.store.read(a.id))?.state).to.equal('active');
    });
  });
});
