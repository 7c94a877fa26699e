import { expect } from 'chai';
import { asActor } from '../support/tokens.js';
import type { TestApp } from '../support/test-app.js';
import { describeEachEngine } from '../support/engines.js';
import { samplePatient } from '../support/patients.js';
import { create, errorCode, JSON_PATCH } from './rest-fixture.js';

const patch = (t: TestApp, id: string, ops: unknown, ifMatch: string | undefined = 'W/"1"') => {
  const r = asActor(t.app).patch(`/fhir/Patient/${id}`).set('Content-Type', JSON_PATCH);
  return (ifMatch ? r.set('If-Match', ifMatch) : r).send(JSON.stringify(ops));
};

describeEachEngine('PATCH /fhir/Patient/:id', (engine) => {
  let t: TestApp;
  beforeEach(async function () {
    this.timeout(60_000);
    t = await engine.start();
  });
  afterEach(async () => {
    await engine.stop(t);
  });

  it('applies a JSON Patch as version 2 and answers the patched Patient', async () => {
    const p = await create(t, samplePatient(5));
    const res = await patch(t, p.id, [
      { op: 'test', path: '/gender', value: p.gender },
      { op: 'replace', path: '/gender', value: 'other' },
      { op: 'add', path: '/name/0/given/-', value: 'Quinn' },
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.headers.etag).to.equal('W/"2"');
    expect(res.body.gender).to.equal('other');
    expect(res.body.name[0].given.at(-1)).to.equal('Quinn');
    expect((await t.store.read(p.id))?.resource.meta?.versionId).to.equal('2');
  });

  it('answers 422 PATCH_FAILED when a test operation fails, and changes nothing', async () => {
    const p = await create(t, samplePatient(6));
    const res = await patch(t, p.id, [
      { op: 'test', path: '/gender', value: 'unknown-value' },
      { op: 'replace', path: '/gender', value: 'other' },
    ]);
    expect(res.status).to.equal(422);
    expect(errorCode(res.body)).to.equal('PATCH_FAILED');
    expect((await t.store.read(p.id))?.resource.meta?.versionId).to.equal('1');
  });

  it('answers 422 SERVER_MANAGED_FIELD for a patch of id or meta', async () => {
    const p = await create(t, samplePatient(7));
    for (const op of [
      { op: 'replace', path: '/id', value: 'other-id' },
      { op: 'replace', path: '/meta/versionId', value: '9' },
      { op: 'remove', path: '/meta' },
      { op: 'replace', path: '', value: {} },
    ]) {
      const res = await patch(t, p.id, [op]);
      expect(res.status, JSON.stringify(op)).to.equal(422);
      expect(errorCode(res.body)).to.equal('SERVER_MANAGED_FIELD');
    }
  });

  it('answers 422 when the patched Patient breaks a business rule, 400 when it breaks the schema', async () => {
    const p = await create(t, samplePatient(8));
    const rule = await patch(t, p.id, [{ op: 'replace', path: '/birthDate', value: '2999-01-01' }]);
    expect(rule.status).to.equal(422);
    expect(errorCode(rule.body)).to.equal('BUSINESS_RULE');
    const schema = await patch(t, p.id, [{ op: 'add', path: '/favouriteColour', value: 'blue' }]);
    expect(schema.status).to.equal(400);
    expect(errorCode(schema.body)).to.equal('INVALID_RESOURCE');
    expect((await t.store.read(p.id))?.resource.meta?.versionId).to.equal('1');
  });

  it('answers 400 FORBIDDEN_KEY for __proto__ in a path, and 400 INVALID_PATCH for a malformed patch', async () => {
    const p = await create(t, samplePatient(9));
    const proto = await patch(t, p.id, [{ op: 'add', path: '/__proto__/polluted', value: true }]);
    expect(proto.status).to.equal(400);
    expect(errorCode(proto.body)).to.equal('FORBIDDEN_KEY');
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    for (const body of [{ op: 'add' }, [{ op: 'frobnicate', path: '/gender' }], [{ op: 'add', path: 3 }]]) {
      const res = await patch(t, p.id, body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(errorCode(res.body)).to.equal('INVALID_PATCH');
    }
  });

  it('honours If-Match: 428 without, 412 when stale', async () => {
    const p = await create(t, samplePatient(10));
    const ops = [{ op: 'replace', path: '/gender', value: 'other' }];
    expect((await patch(t, p.id, ops, '')).status).to.equal(428);
    expect((await patch(t, p.id, ops, 'W/"7"')).status).to.equal(412);
  });

  it('answers 415 for a body that is not application/json-patch+json', async () => {
    const p = await create(t, samplePatient(11));
    const res = await asActor(t.app).patch(`/fhir/Patient/${p.id}`).set('Content-Type', 'application/fhir+json').set('If-Match', 'W/"1"').send('[]');
    expect(res.status).to.equal(415);
  });

  it('answers 404 for an unknown patient', async () => {
    const res = await patch(t, '0e4b1d6e-0000-4000-8000-000000000000', [{ op: 'replace', path: '/gender', value: 'other' }]);
    expect(res.status).to.equal(404);
  });
});
