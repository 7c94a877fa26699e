import { expect } from 'chai';
import request from 'supertest';
import type { Express } from 'express';
import { fhirRoutes } from '../../src/app.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { TEST_JWT_SECRET } from '../support/tokens.js';

const PUBLIC = new Set([
  'GET /fhir/metadata',
  'GET /.well-known/smart-configuration',
  'GET /fhir/.well-known/smart-configuration',
  'GET /healthz',
  'GET /readyz',
]);
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;

interface RouteLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** Every (method, concrete path) the Express app registers, from `app.router.stack`. */
function registeredRoutes(app: Express): { method: string; path: string }[] {
  const stack = (app as unknown as { router: { stack: RouteLayer[] } }).router.stack;
  const out: { method: string; path: string }[] = [];
  for (const layer of stack) {
    if (!layer.route) continue;
    for (const template of [layer.route.path].flat()) {
      const path = template
        .replace(/\{[^}]*\}/g, '')
        .replace(/:type/g, 'Observation')
        .replace(/:vid/g, '1')
        .replace(/:[A-Za-z]+/g, 'some-id');
      for (const method of METHODS) if (layer.route.methods[method] || layer.route.methods._all) out.push({ method, path });
    }
  }
  return out;
}

describe('route coverage of authentication', () => {
  let t: TestApp;
  before(() => {
    t = testApp({ env: { JWT_SECRET: TEST_JWT_SECRET }, metrics: true });
  });
  after(() => t.store.close());

  it('knows every FHIR route from fhirRoutes()', () => {
    const registered = new Set(registeredRoutes(t.app).map((r) => `${r.method} ${r.path}`));
    for (const route of fhirRoutes()) {
      const path = route.path.replace(/:vid/g, '1').replace(/:[A-Za-z]+/g, 'some-id');
      expect(registered.has(`${route.method} ${path}`), `${route.method} ${route.path}`).to.equal(true);
    }
  });

  it('refuses every registered route without a token, except the public ones', async () => {
    const routes = registeredRoutes(t.app);
    expect(routes.length).to.be.greaterThan(20);
    expect(routes.some((r) => r.path === '/metrics'), '/metrics is among the routes checked').to.equal(true);
    for (const { method, path } of routes) {
      const key = `${method.toUpperCase()} ${path}`;
      const res = await request(t.app)[method as 'get'](path).set('Content-Type', 'application/fhir+json');
      if (PUBLIC.has(key) || (method === 'head' && PUBLIC.has(`GET ${path}`))) {
        expect(res.status, key).to.be.oneOf([200, 503]);
      } else {
        expect(res.status, key).to.equal(401);
        expect(res.headers['www-authenticate'], key).to.match(/^Bearer /);
      }
    }
  });

  it('refuses unknown paths without a token', async () => {
    for (const path of ['/', '/fhir', '/fhir/Observation', '/admin', '/fhir/Patient/../metadata', '/FHIR/METADATA/x']) {
      expect((await request(t.app).get(path)).status, path).to.equal(401);
    }
  });
});
