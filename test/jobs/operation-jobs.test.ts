import { expect } from 'chai';
import type { AuditEvent, Patient } from 'fhir/r4.js';
import type { Response } from 'supertest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { asActor, hsToken } from '../support/tokens.js';
import { FHIR, errorCode, notesBody, warmSchema } from '../lifecycle/lifecycle-fixture.js';

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

interface JobBed {
  t: TestApp;
  sqlite: SqliteStore;
  http: ReturnType<typeof asActor>;
}

function jobBed(env: Record<string, string> = {}, autoStart = true): JobBed {
  const sqlite = SqliteStore.open(':memory:');
  const t = testApp({ store: sqlite, env: { CORRELATION_SECRET: 'test-correlation-secret-0123456789', ...env }, jobs: { autoStart } });
  return { t, sqlite, http: asActor(t.app) };
}

async function createDeleted(b: JobBed, n: number): Promise<string> {
  const res = await b.http.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(n)));
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  const id = (res.body as Patient).id!;
  expect((await b.http.delete(`/fhir/Patient/${id}`)).status).to.equal(204);
  return id;
}

/** The AuditEvents recorded for one request (by its X-Request-Id). */
function auditOf(b: JobBed, res: Response): AuditEvent[] {
  const requestId = res.headers['x-request-id'] as string;
  const rows = b.sqlite.db.prepare('SELECT resource FROM audit_event ORDER BY seq').all() as { resource: string }[];
  return rows
    .map((r) => JSON.parse(r.resource) as AuditEvent)
    .filter((e) => e.entity?.some((x) => x.what?.identifier?.value === requestId));
}

/** Polls `GET` on a Content-Location until it is no longer 202. */
async function pollJob(b: JobBed, location: string, deadlineMs = 10_000): Promise<Response> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const res = await b.http.get(location);
    if (res.status !== 202 || Date.now() > end) return res;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('$restore and $anonymize as Agenda jobs', function () {
  this.timeout(30_000);
  before(warmSchema);
  let b: JobBed;
  afterEach(async () => {
    await b.t.stop();
    await b.t.store.close();
  });

  describe('with a running job runner', () => {
    beforeEach(() => {
      b = jobBed();
    });

    it('waits for the job and answers the restored Patient (no Prefer)', async () => {
      const id = await createDeleted(b, 1);
      const res = await b.http.post(`/fhir/Patient/${id}/$restore`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body).to.include({ resourceType: 'Patient', id });
      expect(res.headers.etag).to.equal('W/"3"');
      expect((await b.t.store.read(id))?.state).to.equal('active');
      const jobs = b.sqlite.db.prepare("SELECT name, data FROM agenda_jobs WHERE name = 'patient-restore'").all() as { data: string }[];
      expect(jobs).to.have.length(1);
      // ids only: nothing of the patient is stored with the job
      expect(jobs[0]!.data).to.include(id).and.not.include(samplePatient(1).name![0]!.family!);
    });

    it('answers 202 + Content-Location with respond-async; $job answers 202, then the result', async () => {
      const id = await createDeleted(b, 2);
      const res = await b.http.post(`/fhir/Patient/${id}/$anonymize`).set('Prefer', 'respond-async');
      expect(res.status).to.equal(202);
      const location = res.headers['content-location'] as string;
      expect(location).to.match(/^\/fhir\/\$job\/[A-Za-z0-9-]+$/);
      const done = await pollJob(b, location);
      expect(done.status, JSON.stringify(done.body)).to.equal(200);
      expect(done.body).to.include({ resourceType: 'Patient', id });
      expect(done.body).to.not.have.property('name');
      expect(done.headers.etag).to.equal('W/"3"');
      expect((await b.t.store.read(id))?.state).to.equal('anonymized');
    });

    it('commits exactly one AuditEvent per operation request, written by the job', async () => {
      const id = await createDeleted(b, 3);
      const ok = await b.http.post(`/fhir/Patient/${id}/$restore`);
      expect(ok.status).to.equal(200);
      const [event, ...more] = auditOf(b, ok);
      expect(more).to.have.length(0);
      expect(event?.subtype?.[0]?.code).to.equal('$restore');
      expect(event?.outcome).to.equal('0');
      expect(event?.entity?.[0]?.what?.reference).to.equal(`Patient/${id}/_history/3`);
      expect(event?.agent?.[0]?.who?.identifier?.value).to.equal('test-admin');

      const refused = await b.http.post(`/fhir/Patient/${id}/$restore`);
      expect(refused.status).to.equal(409);
      const failures = auditOf(b, refused);
      expect(failures).to.have.length(1);
      expect(failures[0]).to.include({ outcome: '4', outcomeDesc: '409 NOT_DELETED' });
    });

    it('returns the operation errors through the job path, waiting or async', async () => {
      const active = (await b.http.post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(4)))).body as Patient;
      const notDeleted = await b.http.post(`/fhir/Patient/${active.id}/$restore`);
      expect([notDeleted.status, errorCode(notDeleted.body)]).to.deep.equal([409, 'NOT_DELETED']);

      const held = await createDeleted(b, 5);
      const hold = b.http.post(`/fhir/Patient/${held}/$investigation-start`).set('Content-Type', FHIR);
      expect((await hold.send(JSON.stringify(notesBody('billing dispute')))).status).to.equal(200);
      const async = await b.http.post(`/fhir/Patient/${held}/$anonymize`).set('Prefer', 'respond-async');
      expect(async.status).to.equal(202);
      const underInvestigation = await pollJob(b, async.headers['content-location'] as string);
      expect([underInvestigation.status, errorCode(underInvestigation.body)]).to.deep.equal([409, 'UNDER_INVESTIGATION']);

      const gone = await createDeleted(b, 6);
      expect((await b.http.post(`/fhir/Patient/${gone}/$anonymize`)).status).to.equal(200);
      const again = await b.http.post(`/fhir/Patient/${gone}/$anonymize`);
      expect([again.status, errorCode(again.body)]).to.deep.equal([409, 'ALREADY_ANONYMIZED']);
      const restoreGone = await b.http.post(`/fhir/Patient/${gone}/$restore`).set('Prefer', 'respond-async');
      const restoreResult = await pollJob(b, restoreGone.headers['content-location'] as string);
      expect([restoreResult.status, errorCode(restoreResult.body)]).to.deep.equal([409, 'ALREADY_ANONYMIZED']);

      const unknown = await b.http.post(`/fhir/Patient/${UNKNOWN}/$restore`);
      expect([unknown.status, errorCode(unknown.body)]).to.deep.equal([404, 'NOT_FOUND']);
      expect(auditOf(b, unknown)).to.have.length(1);
    });

    it('answers 404 for an unknown job and 403 to a non-admin', async () => {
      expect((await b.http.get(`/fhir/$job/${UNKNOWN}`)).status).to.equal(404);
      const clinician = asActor(b.t.app, hsToken({ scope: 'user/Patient.cruds' }));
      expect((await clinician.get(`/fhir/$job/${UNKNOWN}`)).status).to.equal(403);
    });
  });

  describe('when the job does not finish within OPERATION_WAIT', () => {
    beforeEach(() => {
      b = jobBed({ OPERATION_WAIT: 'PT0.2S' }, false);
    });

    it('answers 202 + Content-Location; $job answers once a worker has run the job', async () => {
      const id = await createDeleted(b, 7);
      const res = await b.http.post(`/fhir/Patient/${id}/$restore`);
      expect(res.status).to.equal(202);
      const location = res.headers['content-location'] as string;
      expect((await b.http.get(location)).status).to.equal(202);
      expect((await b.t.store.read(id))?.state).to.equal('soft-deleted');
      expect(auditOf(b, res)).to.have.length(0); // the job writes it when it runs

      await (await b.t.scheduler!).agenda.start();
      const done = await pollJob(b, location);
      expect(done.status, JSON.stringify(done.body)).to.equal(200);
      expect(done.body).to.include({ id });
      expect(auditOf(b, res)).to.have.length(1);
    });
  });
});
