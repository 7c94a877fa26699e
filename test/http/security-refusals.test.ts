import { expect } from 'chai';
import request from 'supertest';
import type { TestApp } from '../support/test-app.js';
import { adminToken, asActor, auditorToken, bearer, hsToken, patientToken, practitionerToken } from '../support/tokens.js';
import { auditState, buildFixture, describeEachEngine, FHIR, phiOf, uniquePatient, type Fixture } from './security-matrix-fixture.js';
import { errorCode } from '../support/outcome.js';

const systemToken = () => hsToken({ sub: 'backend-service', scope: 'system/Patient.rs' });

/** Everything a client sees of an answer, for the PHI checks. */
const seen = (res: request.Response) => JSON.stringify(res.body) + JSON.stringify(res.headers);

  describeEachEngine('security refusals', (engine) => {
    let t: TestApp;
    let fx: Fixture;
    before(async function () {
      this.timeout(120_000);
      t = await engine.start();
    });
    after(async () => t && engine.stop(t));
    beforeEach(async () => {
      fx = await buildFixture(t, 'active');
    });

    describe('401', () => {
      it('carries WWW-Authenticate: Bearer and an OperationOutcome, without and with a bad token', async () => {
        const expired = adminToken({ now: Math.floor(Date.now() / 1000) - 7200, ttl: 3600 });
        for (const auth of [undefined, bearer(expired), 'Bearer not.a.jwt', `Basic ${Buffer.from('a:b').toString('base64')}`]) {
          let req = request(t.app).get(`/fhir/Patient/${fx.inside.id}`);
          if (auth) req = req.set('Authorization', auth);
          const res = await req;
          expect(res.status, auth).to.equal(401);
          expect(res.headers['www-authenticate'], auth).to.match(/^Bearer realm="fhir"/);
          expect(res.headers['content-type']).to.match(/^application\/fhir\+json/);
          expect(res.body.resourceType).to.equal('OperationOutcome');
          expect(errorCode(res.body)).to.equal('UNAUTHORIZED');
        }
      });

      it('writes exactly one AuditEvent with outcome 4, the interaction as subtype and no agent identity', async () => {
        const before = await auditState(t.store);
        expect((await request(t.app).get(`/fhir/Patient/${fx.inside.id}/_history/1`)).status).to.equal(401);
        const after = await auditState(t.store);
        expect(after.total - before.total).to.equal(1);
        const event = after.newest!;
        expect(event.outcome).to.equal('4');
        expect(event.subtype?.[0]?.code).to.equal('vread');
        expect(event.outcomeDesc).to.equal('401 UNAUTHORIZED');
        expect(JSON.stringify(event.entity)).to.contain(`Patient/${fx.inside.id}`);
        expect(JSON.stringify(event.agent)).to.not.contain('test-admin');
      });
    });

    describe('403', () => {
      const cases: [who: string, token: () => string, send: (f: Fixture) => { method: 'get' | 'post' | 'delete'; path: string; body?: unknown }, scope: string, subtype: string][] = [
        ['system creates', systemToken, () => ({ method: 'post', path: '/fhir/Patient', body: uniquePatient('gp-x') }), 'user/Patient.c', 'create'],
        ['an auditor reads a Patient', auditorToken, (f) => ({ method: 'get', path: `/fhir/Patient/${f.inside.id}` }), 'user/Patient.r', 'read'],
        ['an auditor searches Patients', auditorToken, () => ({ method: 'get', path: '/fhir/Patient?gender=female' }), 'user/Patient.s', 'search-type'],
        ['a patient deletes itself', () => patientToken(fx.inside.id), (f) => ({ method: 'delete', path: `/fhir/Patient/${f.inside.id}` }), 'user/Patient.d', 'delete'],
        ['a patient searches its AuditEvents', () => patientToken(fx.inside.id), () => ({ method: 'get', path: '/fhir/AuditEvent' }), 'user/AuditEvent.s', 'search-type'],
        ['an admin without AuditEvent scope verifies', () => hsToken({ roles: ['admin'], scope: 'user/Patient.cruds' }), () => ({ method: 'get', path: '/fhir/AuditEvent/$verify' }), 'user/AuditEvent.r', '$verify'],
      ];
      for (const [who, token, send, scope, subtype] of cases) {
        it(`names the missing scope when ${who}, and writes one refused AuditEvent (${subtype})`, async () => {
          const { method, path, body } = send(fx);
          const before = await auditState(t.store);
          let req = asActor(t.app, token())[method](path);
          if (body !== undefined) req = req.set('Content-Type', FHIR).send(JSON.stringify(body));
          const res = await req;
          expect(res.status).to.equal(403);
          expect(errorCode(res.body)).to.equal('INSUFFICIENT_SCOPE');
          expect(res.body.issue[0].diagnostics).to.contain(scope);
          expect(res.headers['www-authenticate']).to.contain(`error="insufficient_scope", scope="${scope}"`);
          const after = await auditState(t.store);
          expect(after.total - before.total).to.equal(1);
          expect([after.newest?.outcome, after.newest?.subtype?.[0]?.code, after.newest?.outcomeDesc]).to.deep.equal(['4', subtype, '403 INSUFFICIENT_SCOPE']);
        });
      }

      it('names the missing role (not a scope) for an operation without role admin', async () => {
        const res = await asActor(t.app, practitionerToken('gp-matrix')).post(`/fhir/Patient/${fx.inside.id}/$investigation-start`).set('Content-Type', FHIR).send('{}');
        expect(res.status).to.equal(403);
        expect(errorCode(res.body)).to.equal('FORBIDDEN');
        expect(res.body.issue[0].diagnostics).to.contain('admin');
        expect((await auditState(t.store)).newest?.subtype?.[0]?.code).to.equal('$investigation-start');
      });
    });

    describe('no PHI in refusals', () => {
      const family = (f: Fixture) => f.inside.name?.[0]?.family ?? 'none';

      it('does not echo query values in 401 and 403', async () => {
        const query = `/fhir/Patient?family=${encodeURIComponent(family(fx))}&identifier=${encodeURIComponent(fx.inside.identifier?.[0]?.value ?? '')}`;
        const refused = [await request(t.app).get(query), await asActor(t.app, auditorToken()).get(query)];
        expect(refused.map((r) => r.status)).to.deep.equal([401, 403]);
        for (const res of refused) for (const phi of phiOf(fx)) expect(seen(res)).to.not.contain(phi);
      });

      it('does not echo a refused body (403 scope, 403 compartment) nor store it in the AuditEvent', async () => {
        const body = uniquePatient('gp-elsewhere');
        const values = [body.name?.[0]?.family, ...(body.identifier ?? []).map((i) => i.value)].filter((v): v is string => Boolean(v));
        const refused = [
          await asActor(t.app, systemToken()).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(body)),
          await asActor(t.app, practitionerToken('gp-matrix')).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(body)),
        ];
        expect(refused.map((r) => r.status)).to.deep.equal([403, 403]);
        const event = JSON.stringify((await auditState(t.store)).newest);
        for (const value of values) {
          for (const res of refused) expect(seen(res)).to.not.contain(value);
          expect(event).to.not.contain(value);
        }
      });

      it('answers an out-of-compartment read exactly like an unknown id', async () => {
        const client = asActor(t.app, practitionerToken('gp-matrix'));
        const outside = await client.get(`/fhir/Patient/${fx.outside.id}`);
        const unknown = await client.get('/fhir/Patient/no-such-patient-0000');
        expect([outside.status, unknown.status]).to.deep.equal([404, 404]);
        expect(outside.body.issue).to.deep.equal(unknown.body.issue);
        for (const phi of phiOf(fx)) expect(seen(outside)).to.not.contain(phi);
      });
    });
  });
