import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import request from 'supertest';
import express, { type NextFunction, type Request, type Response } from 'express';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { adminToken, asActor, bearer, TEST_JWT_SECRET } from '../support/tokens.js';
import { createTokenVerifier } from '../../src/auth/verify-token.js';
import { localSecret } from '../../src/config/local-secret.js';
import { rateLimitBySubject } from '../../src/http/hardening.js';
import { sendOutcomeError, toOutcomeError } from '../../src/http/error-response.js';
import { errorCode } from '../support/outcome.js';

const FHIR = 'application/fhir+json';
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('HTTP hardening', () => {
  let t: TestApp;
  const build = (env: Record<string, string> = {}) => {
    t = testApp({ env: { JWT_SECRET: TEST_JWT_SECRET, ...env } });
    return t;
  };
  afterEach(() => t.store.close());

  describe('security headers', () => {
    it('sends API-fit security headers on public and protected routes', async () => {
      build();
      for (const res of [await request(t.app).get('/fhir/metadata'), await asActor(t.app).get('/fhir/Patient')]) {
        expect(res.headers['content-security-policy']).to.equal("default-src 'none';frame-ancestors 'none'");
        expect(res.headers['x-content-type-options']).to.equal('nosniff');
        expect(res.headers['x-frame-options']).to.equal('DENY');
        expect(res.headers['referrer-policy']).to.equal('no-referrer');
        expect(res.headers['strict-transport-security']).to.match(/max-age=/);
        expect(res.headers).to.not.have.property('x-powered-by');
      }
    });
  });

  describe('CORS', () => {
    it('allows listed origins and exposes FHIR headers', async () => {
      build({ CORS_ORIGINS: 'https://app.example, https://other.example' });
      const res = await asActor(t.app).get('/fhir/Patient').set('Origin', 'https://app.example');
      expect(res.headers['access-control-allow-origin']).to.equal('https://app.example');
      expect(res.headers['access-control-expose-headers']).to.contain('ETag');
      expect(res.headers.vary).to.contain('Origin');
      expect(res.headers).to.not.have.property('access-control-allow-credentials');
    });

    it('answers a preflight from a listed origin with 204, without a token', async () => {
      build({ CORS_ORIGINS: 'https://app.example' });
      const res = await request(t.app)
        .options('/fhir/Patient')
        .set('Origin', 'https://app.example')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization, content-type');
      expect(res.status).to.equal(204);
      expect(res.headers['access-control-allow-methods']).to.contain('POST');
      expect(res.headers['access-control-allow-headers']).to.contain('Authorization');
    });

    it('gives no CORS headers to other origins and refuses their preflight', async () => {
      build({ CORS_ORIGINS: 'https://app.example' });
      const res = await asActor(t.app).get('/fhir/Patient').set('Origin', 'https://evil.example');
      expect(res.status).to.equal(200);
      expect(res.headers).to.not.have.property('access-control-allow-origin');
      const preflight = await request(t.app).options('/fhir/Patient').set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'GET');
      expect(preflight.status).to.equal(403);
      expect(preflight.headers).to.not.have.property('access-control-allow-origin');
    });
  });

  describe('rate limiting', () => {
    it('answers 429 RATE_LIMITED with Retry-After per client address', async () => {
      build({ RATE_LIMIT_PER_MINUTE: '3' });
      for (let i = 0; i < 3; i++) expect((await request(t.app).get('/fhir/metadata')).status).to.equal(200);
      const res = await request(t.app).get('/fhir/metadata');
      expect(res.status).to.equal(429);
      expect(errorCode(res.body)).to.equal('RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).to.be.within(1, 60);
      expect(res.headers['content-type']).to.match(/^application\/fhir\+json/);
    });

    it('never limits the health and readiness probes', async () => {
      build({ RATE_LIMIT_PER_MINUTE: '2' });
      for (let i = 0; i < 3; i++) await request(t.app).get('/fhir/metadata');
      expect((await request(t.app).get('/fhir/metadata')).status).to.equal(429);
      for (let i = 0; i < 5; i++) {
        expect((await request(t.app).get('/healthz')).status).to.equal(200);
        expect((await request(t.app).get('/readyz')).status).to.equal(200);
      }
    });

    it('counts per token subject, whatever the address', async () => {
      build();
      // The subject limiter alone, behind a stand-in for authentication that names the subject.
      const app = express();
      app.use((req, res, next) => {
        res.locals.context = { actor: { subject: req.get('x-subject') ?? 'anonymous', roles: [], scopes: [] } };
        next();
      });
      app.use(rateLimitBySubject(2));
      app.get('/', (_req, res) => res.json({}));
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendOutcomeError(res, toOutcomeError(err)));
      const statuses = [];
      for (const subject of ['a', 'a', 'a', 'b', 'anonymous', 'anonymous', 'anonymous']) {
        statuses.push((await request(app).get('/').set('x-subject', subject)).status);
      }
      expect(statuses).to.deep.equal([200, 200, 429, 200, 200, 200, 200]);
    });
  });

  describe('READ_ONLY=true', () => {
    it('answers 503 READ_ONLY to writes and keeps serving reads and POST _search', async () => {
      build({ READ_ONLY: 'true' });
      const write = await asActor(t.app).post('/fhir/Patient').set('Content-Type', FHIR).send(JSON.stringify(samplePatient(0)));
      expect(write.status).to.equal(503);
      expect(errorCode(write.body)).to.equal('READ_ONLY');
      expect((await asActor(t.app).delete('/fhir/Patient/x')).status).to.equal(503);
      expect((await asActor(t.app).get('/fhir/Patient')).status).to.equal(200);
      const search = await asActor(t.app).post('/fhir/Patient/_search').set('Content-Type', 'application/x-www-form-urlencoded').send('gender=male');
      expect(search.status).to.equal(200);
    });

    it('still answers 401 before 503 to anonymous writes', async () => {
      build({ READ_ONLY: 'true' });
      expect((await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR).send('{}')).status).to.equal(401);
    });
  });

  describe('npm run token', () => {
    it('prints only a token that the server accepts, signed with the local secret', async function () {
      this.timeout(30_000);
      const dataDir = mkdtempSync(join(tmpdir(), 'fhir-token-'));
      try {
        const out = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/token.ts', '--roles', 'admin', '--scope', 'user/*.cruds', '--patient', 'p1', '--ttl', '15m', '--sub', 'ops'], {
          cwd: root,
          env: { ...process.env, DATA_DIR: dataDir, JWT_SECRET: '' },
          encoding: 'utf8',
        });
        expect(out.status, out.stderr).to.equal(0);
        const token = out.stdout.trim();
        expect(token).to.match(/^[\w-]+\.[\w-]+\.[\w-]+$/);
        const secret = localSecret(dataDir, 'jwt');
        expect(secret.created).to.equal(false);
        expect(statSync(secret.path).mode & 0o777).to.equal(0o600);
        const { claims } = await createTokenVerifier({ jwtSecret: secret.value }).verify(token);
        expect(claims).to.include({ sub: 'ops', scope: 'user/*.cruds', patient: 'p1' });
        expect(claims.roles).to.deep.equal(['admin']);
        expect((claims.exp as number) - (claims.iat as number)).to.equal(900);
        build({ JWT_SECRET: secret.value });
        expect((await request(t.app).get('/fhir/Patient').set('Authorization', bearer(token))).status).to.equal(200);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
