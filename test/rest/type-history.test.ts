import { expect } from 'chai';
import type { Bundle, Patient } from 'fhir/r4.js';
import { ManualClock } from '../../src/context/clock.js';
import { asActor, patientToken } from '../support/tokens.js';
import type { TestApp } from '../support/test-app.js';
import { describeEachEngine } from '../support/engines.js';
import { samplePatient } from '../support/patients.js';
import { create, FHIR } from './rest-fixture.js';

describeEachEngine('GET /fhir/Patient/_history', (engine) => {
  let t: TestApp;
  let clock: ManualClock;
  beforeEach(async function () {
    this.timeout(60_000);
    clock = new ManualClock(new Date('2026-03-01T00:00:00Z'));
    t = await engine.start({ clock });
  });
  afterEach(async () => {
    await engine.stop(t);
  });

  it('lists every version of every patient, newest first, paged by _count with next links', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await create(t, samplePatient(70 + i))).id);
      clock.advance(1000);
    }
    const first = ids[0]!;
    const updated = await asActor(t.app).put(`/fhir/Patient/${first}`).set('Content-Type', FHIR).set('If-Match', 'W/"1"')
      .send(JSON.stringify({ ...samplePatient(70), id: first, gender: 'other' }));
    expect(updated.status).to.equal(200);

    const seen: string[] = [];
    let url: string | undefined = '/fhir/Patient/_history?_count=3';
    while (url) {
      const res = await asActor(t.app).get(url);
      expect(res.status).to.equal(200);
      const bundle = res.body as Bundle;
      expect(bundle.type).to.equal('history');
      seen.push(...bundle.entry!.map((e) => `${(e.resource as Patient).id}/${e.response!.etag}`));
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      url = next ? new URL(next).pathname + new URL(next).search : undefined;
    }
    expect(seen).to.deep.equal([`${first}/W/"2"`, `${ids[2]}/W/"1"`, `${ids[1]}/W/"1"`, `${first}/W/"1"`]);
  });

  it('honours _since', async () => {
    await create(t, samplePatient(74));
    clock.advance(60_000);
    const since = clock.now().toISOString();
    const later = await create(t, samplePatient(75));
    const res = await asActor(t.app).get(`/fhir/Patient/_history?_since=${encodeURIComponent(since)}`);
    expect((res.body as Bundle).entry!.map((e) => (e.resource as Patient).id)).to.deep.equal([later.id]);
  });

  it('answers 400 for a garbled _before or _count', async () => {
    expect((await asActor(t.app).get('/fhir/Patient/_history?_before=nope')).status).to.equal(400);
    expect((await asActor(t.app).get('/fhir/Patient/_history?_count=0')).status).to.equal(400);
  });

  it('is refused to a compartment-bound token', async () => {
    const p = await create(t, samplePatient(76));
    expect((await asActor(t.app, patientToken(p.id)).get('/fhir/Patient/_history')).status).to.equal(403);
  });
});
