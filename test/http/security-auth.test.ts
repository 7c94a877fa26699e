import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import {
  adminToken, asActor, auditorToken, bearer, hsToken, rsToken, testRsaKeys, TEST_JWT_SECRET,
} from '../support/tokens.js';
import { errorCode } from '../support/outcome.js';

const FHIR = 'application/fhir+json';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('bearer authentication (HTTP)', () => {
  let t: TestApp;
  beforeEach(() => {
    t = testApp({ env: { JWT_SECRET: TEST_JWT_SECRET } });
  });
  afterEach(() => t.store.close());

  async function expect401(authorization: string | string[] | undefined, path = '/fhir/Patient') {
    let req = request(t.app).get(path);
    for (const value of [authorization ?? []].flat()) req = req.set('Authorization', value);
    const res = await req;
    expect(res.status, JSON.stringify(res.body)).to.equal(401);
    expect(res.headers['www-authenticate']).to.match(/^Bearer realm="fhir"/);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect(errorCode(res.body)).to.equal('UNAUTHORIZED');
    return res;
  }

  it('answers 200 with an admin token', async () => {
    const res = await asActor(t.app).get('/fhir/Patient');
    expect(res.status).to.equal(200);
    expect(res.headers['cache-control']).to.equal('no-store');
  });

  it('answers 401 without Authorization', () => expect401(undefined));
  it('answers 401 to another scheme', () => expect401(`Basic ${Buffer.from('a:b').toString('base64')}`));
  it('answers 401 to Bearer without a token', () => expect401('Bearer '));
  it('answers 401 to two tokens in one header', () => expect401(`Bearer ${adminToken()} ${adminToken()}`));
  it('answers 401 to two tokens separated by a comma', () => expect401(`Bearer ${adminToken()}, Bearer ${adminToken()}`));
  it('answers 401 to garbage', () => expect401('Bearer %%%garbage%%%'));
  it('answers 401 to a token with extra segments', () => expect401(`Bearer ${adminToken()}.AAAA`));

  it('answers 401 to alg none', () => expect401(`Bearer ${b64({ alg: 'none' })}.${b64({ sub: 'x', roles: ['admin'], scope: 'user/*.cruds', exp: now() + 60 })}.`));

  it('answers 401 to an expired token', async () => {
    const res = await expect401(bearer(adminToken({ now: now() - 7200, ttl: 3600 })));
    expect(res.body.issue[0].diagnostics).to.contain('expired');
  });

  it('answers 401 to a token whose nbf is in the future', () => expect401(bearer(adminToken({ claims: { nbf: now() + 600 } }))));

  it('answers 401 to a non-numeric exp', () => {
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'x', roles: ['admin'], scope: 'user/*.cruds', exp: 'never' })}`;
    return expect401(`Bearer ${unsigned}.${createHmac('sha256', TEST_JWT_SECRET).update(unsigned).digest('base64url')}`);
  });

  it('answers 401 when the roles claim is not an array', () => expect401(bearer(adminToken({ roles: undefined, claims: { roles: 'admin' } }))));

  it('answers 401 to an HS256 token signed with the RS public key', async () => {
    t = testApp({ env: { JWT_PUBLIC_KEY: testRsaKeys().publicKey } });
    expect((await asActor(t.app, rsToken({ roles: ['admin'], scope: 'user/*.cruds' })).get('/fhir/Patient')).status).to.equal(200);
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'x', roles: ['admin'], scope: 'user/*.cruds', exp: now() + 60 })}`;
    await expect401(`Bearer ${unsigned}.${createHmac('sha256', testRsaKeys().publicKey).update(unsigned).digest('base64url')}`);
  });

  it('answers 401 to a wrong audience or issuer', async () => {
    t = testApp({ env: { JWT_SECRET: TEST_JWT_SECRET, JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'fhir' } });
    await expect401(bearer(adminToken({ claims: { iss: 'https://idp.example', aud: 'elsewhere' } })));
    await expect401(bearer(adminToken({ claims: { iss: 'https://evil.example', aud: 'fhir' } })));
    const ok = await asActor(t.app, adminToken({ claims: { iss: 'https://idp.example', aud: 'fhir' } })).get('/fhir/Patient');
    expect(ok.status).to.equal(200);
  });

  it('answers 401 to two Authorization headers', async () => {
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    const head = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end(`GET /fhir/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer()}\r\nAuthorization: ${bearer()}\r\nConnection: close\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    await new Promise((resolve) => server.close(resolve));
    expect(head.split('\r\n')[0]).to.equal('HTTP/1.1 401 Unauthorized');
  });

  it('answers 403 INSUFFICIENT_SCOPE naming the missing scope, ignoring junk scopes', async () => {
    const token = hsToken({ scope: 'openid launch user/Patient.rs user/Patient.x bogus/Patient.cruds user/Patient.srcud' });
    expect((await asActor(t.app, token).get('/fhir/Patient')).status).to.equal(200);
    const res = await asActor(t.app, token).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(0)));
    expect(res.status).to.equal(403);
    expect(errorCode(res.body)).to.equal('INSUFFICIENT_SCOPE');
    expect(res.body.issue[0].diagnostics).to.contain('user/Patient.c');
    expect(res.headers['www-authenticate']).to.contain('insufficient_scope');
  });

  it('answers 403 FORBIDDEN to an admin operation without the admin role', async () => {
    const res = await asActor(t.app, hsToken({ scope: 'user/*.cruds' })).post('/fhir/Patient/abc/$restore');
    expect(res.status).to.equal(403);
    expect(errorCode(res.body)).to.equal('FORBIDDEN');
  });

  it('lets an auditor token search nothing of Patient', async () => {
    const res = await asActor(t.app, auditorToken()).get('/fhir/Patient');
    expect(res.status).to.equal(403);
    expect(errorCode(res.body)).to.equal('INSUFFICIENT_SCOPE');
  });

  it('serves the SMART configuration without a token', async () => {
    for (const path of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
      const res = await request(t.app).get(path);
      expect(res.status, path).to.equal(200);
      expect(res.body.capabilities).to.include('permission-v2');
      expect(res.body).to.not.have.property('token_endpoint');
    }
  });
});
