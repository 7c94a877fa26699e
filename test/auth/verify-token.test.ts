import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { ManualClock } from '../../src/context/clock.js';
import { createTokenVerifier, type TokenKeyConfig } from '../../src/auth/verify-token.js';
import { OperationOutcomeError } from '../../src/fhir/outcome.js';
import { hsToken, rsToken, testRsaKeys, TEST_JWT_SECRET } from '../support/tokens.js';

const clock = new ManualClock('2026-03-01T12:00:00Z');
const now = () => Math.floor(clock.now().getTime() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function rejection(config: TokenKeyConfig, token: string): Promise<{ status: number; message: string }> {
  try {
    await createTokenVerifier(config, { clock }).verify(token);
  } catch (err) {
    expect(err).to.be.instanceOf(OperationOutcomeError);
    return { status: (err as OperationOutcomeError).status, message: (err as OperationOutcomeError).message };
  }
  throw new Error('the token was accepted');
}

describe('createTokenVerifier', () => {
  const hs: TokenKeyConfig = { jwtSecret: TEST_JWT_SECRET };
  const rs = (): TokenKeyConfig => ({ jwtPublicKey: testRsaKeys().publicKey });

  it('accepts an HS256 token and returns its claims', async () => {
    const verified = await createTokenVerifier(hs, { clock }).verify(hsToken({ sub: 'a', now: now() }));
    expect(verified.claims.sub).to.equal('a');
  });

  it('accepts an RS256 token with the configured public key', async () => {
    const verified = await createTokenVerifier(rs(), { clock }).verify(rsToken({ sub: 'r', now: now() }));
    expect(verified.claims.sub).to.equal('r');
  });

  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', exp: now() + 60 })}.`;
    expect((await rejection(hs, token)).status).to.equal(401);
    expect((await rejection(hs, `${token}AAAA`)).status).to.equal(401);
  });

  it('refuses an HS256 token signed with the RSA public key (algorithm confusion)', async () => {
    const forged = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'x', exp: now() + 60 })}`;
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha256', testRsaKeys().publicKey).update(forged).digest('base64url');
    expect((await rejection(rs(), `${forged}.${signature}`)).status).to.equal(401);
  });

  it('refuses an expired token, tolerating 30 s of skew', async () => {
    expect(await rejection(hs, hsToken({ now: now() - 3600, ttl: 3540 }))).to.deep.equal({ status: 401, message: 'The bearer token has expired' });
    await createTokenVerifier(hs, { clock }).verify(hsToken({ now: now() - 3600, ttl: 3590 }));
  });

  it('refuses a token whose nbf is in the future', async () => {
    const token = hsToken({ now: now(), claims: { nbf: now() + 120 } });
    expect(await rejection(hs, token)).to.deep.equal({ status: 401, message: 'The bearer token is not valid yet' });
    await createTokenVerifier(hs, { clock }).verify(hsToken({ now: now(), claims: { nbf: now() + 10 } }));
  });

  it('refuses a token without exp or with a non-numeric exp', async () => {
    const noExp = jwt.sign({ sub: 'x' }, TEST_JWT_SECRET, { algorithm: 'HS256' });
    expect((await rejection(hs, noExp)).status).to.equal(401);
    const textExp = `${b64({ alg: 'HS256' })}.${b64({ sub: 'x', exp: String(now() + 60) })}`;
    const { createHmac } = await import('node:crypto');
    const signed = `${textExp}.${createHmac('sha256', TEST_JWT_SECRET).update(textExp).digest('base64url')}`;
    expect((await rejection(hs, signed)).message).to.equal('The bearer token has no valid exp');
  });

  it('refuses extra segments, two tokens glued together, garbage and a tampered payload', async () => {
    const token = hsToken({ now: now() });
    expect((await rejection(hs, `${token}.x`)).status).to.equal(401);
    expect((await rejection(hs, `${token}${token}`)).status).to.equal(401);
    expect((await rejection(hs, 'not-a-token')).status).to.equal(401);
    const [h, , s] = token.split('.');
    expect((await rejection(hs, `${h}.${b64({ sub: 'admin', exp: now() + 60 })}.${s}`)).status).to.equal(401);
  });

  it('checks iss and aud when configured', async () => {
    const config = { ...hs, jwtIssuer: 'https://idp.example', jwtAudience: 'fhir' };
    expect((await rejection(config, hsToken({ now: now(), claims: { iss: 'https://evil.example', aud: 'fhir' } }))).status).to.equal(401);
    expect((await rejection(config, hsToken({ now: now(), claims: { iss: 'https://idp.example', aud: 'other' } }))).status).to.equal(401);
    await createTokenVerifier(config, { clock }).verify(hsToken({ now: now(), claims: { iss: 'https://idp.example', aud: 'fhir' } }));
  });

  it('refuses a token signed with another secret', async () => {
    expect((await rejection(hs, hsToken({ now: now() }, 'another-secret-0123456789abcdef0123456789'))).status).to.equal(401);
  });

  it('caches a verified token until it expires', async () => {
    const local = new ManualClock(clock.now());
    const verifier = createTokenVerifier(hs, { clock: local });
    const token = hsToken({ now: Math.floor(local.now().getTime() / 1000), ttl: 60 });
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).to.equal(first);
    local.advance(120_000);
    const error = await verifier.verify(token).then(() => undefined, (err: unknown) => err as OperationOutcomeError);
    expect(error?.status).to.equal(401);
  });

  it('refuses to start without a key or with a short secret', () => {
    expect(() => createTokenVerifier({})).to.throw(/No JWT key/);
    expect(() => createTokenVerifier({ jwtSecret: 'short' })).to.throw(/at least 32/);
  });

  describe('with JWKS_URI', () => {
    let server: Server;
    let uri: string;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

    before(async () => {
      const rsaJwk = { ...createPublicKey(testRsaKeys().publicKey).export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
      const ecJwk = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' };
      server = createServer((_req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ keys: [rsaJwk, ecJwk] }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('verifies RS256 and ES256 tokens by kid', async () => {
      const verifier = createTokenVerifier({ jwksUri: uri }, { clock });
      expect((await verifier.verify(rsToken({ sub: 'rs', now: now() }, testRsaKeys().privateKey, 'rsa-1'))).claims.sub).to.equal('rs');
      const esToken = jwt.sign({ sub: 'es', exp: now() + 60 }, ec.privateKey, { algorithm: 'ES256', keyid: 'ec-1', noTimestamp: true });
      expect((await verifier.verify(esToken)).claims.sub).to.equal('es');
    });

    it('refuses an HS256 token and an unknown kid', async () => {
      expect((await rejection({ jwksUri: uri }, hsToken({ now: now() }))).status).to.equal(401);
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
      expect((await rejection({ jwksUri: uri }, rsToken({ now: now() }, other.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'rsa-9'))).status).to.equal(401);
    });
  });
});
