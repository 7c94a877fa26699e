import { generateKeyPairSync } from 'node:crypto';
import type { App } from 'supertest/types.js';
import jwt from 'jsonwebtoken';
import request from 'supertest';

/** The HS256 secret test apps are built with: `testApp({ env: { JWT_SECRET: TEST_JWT_SECRET } })`. */
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789abcdef';

let rsaKeys: { publicKey: string; privateKey: string } | undefined;

/** An RSA key pair (PEM) for RS256 tests, generated on first use, once per test process. */
export function testRsaKeys(): { publicKey: string; privateKey: string } {
  rsaKeys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return rsaKeys;
}

export interface TokenOptions {
  sub?: string;
  roles?: string[];
  /** Space-separated SMART scopes. */
  scope?: string;
  patient?: string;
  fhirUser?: string;
  /** Lifetime in seconds (default 3600); negative mints an expired token. */
  ttl?: number;
  /** Extra or overriding claims. */
  claims?: Record<string, unknown>;
  /** `now` for `iat`/`exp`, in seconds (default: the system clock). */
  now?: number;
}

function payload(options: TokenOptions): Record<string, unknown> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  return {
    sub: options.sub ?? 'test-user',
    roles: options.roles ?? [],
    scope: options.scope ?? '',
    iat: now,
    exp: now + (options.ttl ?? 3600),
    ...(options.patient ? { patient: options.patient } : {}),
    ...(options.fhirUser ? { fhirUser: options.fhirUser } : {}),
    ...options.claims,
  };
}

/** An HS256 token signed with {@link TEST_JWT_SECRET} (or `secret`). */
export function hsToken(options: TokenOptions = {}, secret = TEST_JWT_SECRET): string {
  return jwt.sign(payload(options), secret, { algorithm: 'HS256', noTimestamp: true });
}

/** An RS256 token signed with {@link testRsaKeys} (or another private key). */
export function rsToken(options: TokenOptions = {}, privateKey = testRsaKeys().privateKey, kid?: string): string {
  return jwt.sign(payload(options), privateKey, { algorithm: 'RS256', noTimestamp: true, ...(kid ? { keyid: kid } : {}) });
}

/** Full access: role `admin`, scope `user/*.cruds`. */
export function adminToken(options: TokenOptions = {}): string {
  return hsToken({ sub: 'test-admin', roles: ['admin'], scope: 'user/*.cruds', ...options });
}

/** Role `auditor` with read/search on AuditEvent. */
export function auditorToken(options: TokenOptions = {}): string {
  return hsToken({ sub: 'test-auditor', roles: ['auditor'], scope: 'user/AuditEvent.rs', ...options });
}

/** A patient-facing app's token confined to one patient. */
export function patientToken(patientId: string, options: TokenOptions = {}): string {
  return hsToken({ sub: `patient-${patientId}`, scope: 'patient/Patient.rs', patient: patientId, ...options });
}

/** A clinician token (`fhirUser: Practitioner/x`, `user/` scopes): confined to that GP's patients. */
export function practitionerToken(practitionerId: string, options: TokenOptions = {}): string {
  return hsToken({
    sub: `practitioner-${practitionerId}`,
    scope: 'user/Patient.cruds',
    fhirUser: `Practitioner/${practitionerId}`,
    ...options,
  });
}

/** `Authorization` header value for a token (default: an admin token). */
export function bearer(token: string = adminToken()): string {
  return `Bearer ${token}`;
}

/**
 * A supertest agent that sends `Authorization: Bearer <token>` (default: admin) on every request:
 * `asActor(t.app).get('/fhir/Patient/1')` in place of `request(t.app).get(...)`.
 */
export function asActor(app: App, token: string = adminToken()) {
  return request.agent(app).set('Authorization', bearer(token));
}
