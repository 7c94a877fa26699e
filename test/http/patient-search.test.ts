import { expect } from 'chai';
import request from 'supertest';
import type { Bundle, Patient } from 'fhir/r4.js';
import { asActor } from '../support/tokens.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { ManualClock } from '../../src/context/clock.js';
import { samplePatients } from '../support/patients.js';
import { buildPatientRecord } from '../../src/patient/record.js';
import { validatePatient } from '../../src/patient/validation/validate-patient.js';
import { ERROR_SYSTEM } from '../support/outcome.js';


/** Follows `next` links over HTTP until the last page; returns every entry id in order. */
async function walk(t: TestApp, firstUrl: string): Promise<{ ids: string[]; pages: number; total?: number }> {
  const ids: string[] = [];
  let url: string | undefined = firstUrl;
  let pages = 0;
  let total: number | undefined;
  while (url) {
    const res = await asActor(t.app).get(url);
    expect(res.status, res.text).to.equal(200);
    const bundle = res.body as Bundle;
    total ??= bundle.total;
    pages++;
    ids.push(...(bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!));
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    url = next ? new URL(next).pathname + new URL(next).search : undefined;
  }
  return { ids, pages, ...(total !== undefined ? { total } : {}) };
}

describe('GET /fhir/Patient (search over HTTP)', () => {
  let t: TestApp;
  const patients: Patient[] = [];

  before(async () => {
    t = testApp();
    const now = new Date();
    for (const [i, sample] of samplePatients.entries()) {
      const patient = validatePatient(sample, { now, mode: 'create' });
      const resource = { ...patient, id: `p-${String(i).padStart(3, '0')}`, meta: { versionId: '1', lastUpdated: now.toISOString() } };
      await t.store.create(buildPatientRecord(resource, 'active', { uniqueContacts: true }));
      patients.push(resource);
    }
  });
  after(async () => {
    await t.store.close();
  });

  it('walks every next link of a search: no duplicate, none missing, total exact', async () => {
    const expected = patients.filter((p) => p.gender === 'female').map((p) => p.id!).sort();
    const { ids, pages, total } = await walk(t, '/fhir/Patient?gender=female&_count=7&_sort=_id');
    expect(ids).to.deep.equal(expected);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(total).to.equal(expected.length);
    expect(pages).to.equal(Math.ceil(expected.length / 7));
  });

  it('walks previous links back to the first page', async () => {
    const first = await asActor(t.app).get('/fhir/Patient?_count=5&_sort=_id');
    const nextUrl = new URL(first.body.link.find((l: { relation: string }) => l.relation === 'next').url);
    const second = await asActor(t.app).get(nextUrl.pathname + nextUrl.search);
    const prevUrl = new URL(second.body.link.find((l: { relation: string }) => l.relation === 'previous').url);
    const back = await asActor(t.app).get(prevUrl.pathname + prevUrl.search);
    expect(back.body.entry.map((e: { resource: Patient }) => e.resource.id)).to.deep.equal(
      first.body.entry.map((e: { resource: Patient }) => e.resource.id),
    );
  });

  it('matches a family prefix case- and accent-insensitively', async () => {
    const res = await asActor(t.app).get('/fhir/Patient?family=MULL&_count=50');
    const families = (res.body.entry ?? []).map((e: { resource: Patient }) => e.resource.name?.map((n) => n.family).join('/'));
    expect(families.join(' ')).to.include('Müller').and.include('Muller');
  });

  it('answers POST _search with a form body like GET', async () => {
    const get = await asActor(t.app).get('/fhir/Patient?gender=male&birthdate=ge1980&_count=1000&_sort=_id');
    const post = await asActor(t.app)
      .post('/fhir/Patient/_search')
      .type('form')
      .send('gender=male&birthdate=ge1980&_count=1000&_sort=_id');
    expect(post.status).to.equal(200);
    expect(post.body.total).to.equal(get.body.total);
    expect(post.body.entry?.map((e: { resource: Patient }) => e.resource.id)).to.deep.equal(
      get.body.entry?.map((e: { resource: Patient }) => e.resource.id),
    );
  });

  it('reports unknown parameters in an OperationOutcome entry, and refuses them with handling=strict', async () => {
    const lenient = await asActor(t.app).get('/fhir/Patient?gender=male&shoe-size=42&_count=1');
    expect(lenient.status).to.equal(200);
    const outcome = lenient.body.entry.find((e: { search: { mode: string } }) => e.search.mode === 'outcome');
    expect(outcome.resource.resourceType).to.equal('OperationOutcome');
    expect(JSON.stringify(outcome)).to.include('shoe-size').and.not.include('42');
    const strict = await asActor(t.app).get('/fhir/Patient?gender=male&shoe-size=42').set('Prefer', 'handling=strict');
    expect(strict.status).to.equal(400);
  });

  it('answers 400 to bad values and a tampered cursor', async () => {
    for (const q of ['birthdate=notadate', '_count=-1', '_count=100000', '_sort=unknown', '_cursor=abc']) {
      const res = await asActor(t.app).get(`/fhir/Patient?${q}`);
      expect(res.status, q).to.equal(400);
      expect(res.body.issue[0].details.coding.some((c: { system: string }) => c.system === ERROR_SYSTEM), q).to.equal(true);
    }
  });

  it('applies _summary=count, _total=none and _elements with the SUBSETTED tag', async () => {
    const count = await asActor(t.app).get('/fhir/Patient?gender=female&_summary=count');
    expect(count.body.total).to.equal(patients.filter((p) => p.gender === 'female').length);
    expect(count.body.entry ?? []).to.have.length(0);
    const none = await asActor(t.app).get('/fhir/Patient?gender=female&_total=none&_count=1');
    expect(none.body).to.not.have.property('total');
    const elements = await asActor(t.app).get('/fhir/Patient?_elements=birthDate&_count=2');
    const resource = elements.body.entry[0].resource as Patient;
    expect(Object.keys(resource).sort()).to.deep.equal(['birthDate', 'id', 'meta', 'resourceType']);
    expect(resource.meta?.tag?.some((tag) => tag.code === 'SUBSETTED')).to.equal(true);
  });

  it('follows next links of an `ap` search although "now" moved between the pages', async () => {
    // `ap` widens by 10 % of the distance to now: the range differs on every page, the cursor must not
    const clock = new ManualClock(new Date());
    const app = testApp({ store: t.store, clock }).app;
    const ids: string[] = [];
    let url: string | undefined = '/fhir/Patient?birthdate=ap1960&_count=2';
    let total: number | undefined;
    while (url) {
      const res = await asActor(app).get(url);
      expect(res.status, res.text).to.equal(200);
      total ??= res.body.total;
      ids.push(...(res.body.entry ?? []).map((e: { resource: Patient }) => e.resource.id!));
      clock.advance(20_000);
      const next = (res.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next')?.url;
      url = next ? new URL(next).pathname + new URL(next).search : undefined;
    }
    expect(total).to.be.greaterThan(2);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('keeps PHI out of paging links (the cursor is encrypted)', async () => {
    const res = await asActor(t.app).get('/fhir/Patient?_sort=family&_count=3');
    const next = res.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
    const cursor = new URL(next).searchParams.get('_cursor')!;
    const decoded = Buffer.from(cursor, 'base64url').toString('latin1').toLowerCase();
    for (const e of res.body.entry as { resource: Patient }[]) {
      const family = e.resource.name?.[0]?.family?.toLowerCase();
      if (family) expect(decoded).to.not.include(family);
    }
  });
});
