import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { asActor, patientToken, practitionerToken } from '../support/tokens.js';

const FHIR = 'application/fhir+json';

describe('compartments over HTTP', () => {
  let t: TestApp;
  let mine: Patient;
  let other: Patient;
  let gpPatient: Patient;

  before(async () => {
    t = testApp();
    const admin = asActor(t.app);
    const create = async (p: Patient) =>
      (await admin.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(p))).body as Patient;
    mine = await create(samplePatient(40));
    other = await create(samplePatient(41));
    gpPatient = await create({ ...samplePatient(42), generalPractitioner: [{ reference: 'Practitioner/gp-1' }] });
  });
  after(async () => {
    await t.store.close();
  });

  it('lets a patient-context token read its own record and answers 404 for anyone else', async () => {
    const client = asActor(t.app, patientToken(mine.id!));
    expect((await client.get(`/fhir/Patient/${mine.id}`)).status).to.equal(200);
    expect((await client.get(`/fhir/Patient/${other.id}`)).status).to.equal(404);
    expect((await client.get(`/fhir/Patient/${other.id}/_history`)).status).to.equal(404);
    expect((await client.get(`/fhir/Patient/${other.id}/_history/1`)).status).to.equal(404);
  });

  it('gives a patient claim for a patient that does not exist nothing: reads 404, searches empty, writes refused', async () => {
    const client = asActor(t.app, patientToken('00000000-0000-4000-8000-000000000000'));
    expect((await client.get(`/fhir/Patient/${mine.id}`)).status).to.equal(404);
    expect((await client.get('/fhir/Patient/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
    const search = await client.get('/fhir/Patient?_count=100');
    expect(search.status).to.equal(200);
    expect(search.body.total).to.equal(0);
    const create = await client.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(43)));
    expect(create.status).to.equal(403);
  });

  it('filters a patient-context search in the store query', async () => {
    const res = await asActor(t.app, patientToken(mine.id!)).get('/fhir/Patient?_count=100');
    expect(res.status).to.equal(200);
    expect(res.body.total).to.equal(1);
    expect(res.body.entry.map((e: { resource: Patient }) => e.resource.id)).to.deep.equal([mine.id]);
  });

  it('confines a practitioner to patients whose generalPractitioner includes them', async () => {
    const client = asActor(t.app, practitionerToken('gp-1'));
    const res = await client.get('/fhir/Patient?_count=100');
    expect(res.body.entry.map((e: { resource: Patient }) => e.resource.id)).to.deep.equal([gpPatient.id]);
    expect((await client.get(`/fhir/Patient/${gpPatient.id}`)).status).to.equal(200);
    expect((await client.get(`/fhir/Patient/${mine.id}`)).status).to.equal(404);
  });

  it('refuses a practitioner update that would move the patient out of their compartment', async () => {
    const client = asActor(t.app, practitionerToken('gp-1'));
    const current = (await client.get(`/fhir/Patient/${gpPatient.id}`)).body as Patient;
    const res = await client
      .put(`/fhir/Patient/${gpPatient.id}`)
      .set('Content-Type', FHIR)
      .set('If-Match', `W/"${current.meta?.versionId}"`)
      .send(JSON.stringify({ ...current, generalPractitioner: [{ reference: 'Practitioner/gp-2' }] }));
    expect(res.status).to.equal(403);
  });
});
