import { createPublicKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../context/clock.js';
import { systemClock } from '../context/clock.js';
import type { Config } from '../config/config.js';
import { ErrorCode, OperationOutcomeError, errors } from '../fhir/outcome.js';

/** The verified payload of a bearer token. */
export type JwtClaims = Record<string, unknown>;

/** A verified token as cached: the same object is returned for every use of the same token. */
export interface VerifiedToken {
  claims: JwtClaims;
  /** `exp`, in seconds since the epoch. */
  expiresAt: number;
}

export interface TokenVerifier {
  /** Verifies a compact JWS; throws a 401 OperationOutcomeError when it is not acceptable. */
  verify(token: string): Promise<VerifiedToken>;
}

/** The configuration a verifier is built from (a subset of Config). */
export type TokenKeyConfig = Pick<Config, 'jwtSecret' | 'jwtPublicKey' | 'jwksUri' | 'jwtIssuer' | 'jwtAudience'>;

export interface TokenVerifierOptions {
  clock?: Clock;
  /** Most tokens kept verified in memory (least recently used dropped first). */
  cacheSize?: number;
}

/** Tolerated clock difference with the token issuer, for `exp` and `nbf`. */
export const CLOCK_SKEW_SECONDS = 30;
const MAX_TOKEN_LENGTH = 8192;
// Exactly three base64url segments, signature non-empty: no `alg: none`, no JWE, no extra segments.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
const EC_ALGS = ['ES256', 'ES384', 'ES512'] as const;
const HMAC_MIN_SECRET_BYTES = 32;

/** 401 with the RFC 6750 `invalid_token` challenge. Never quotes the token. */
export function invalidToken(diagnostics: string): OperationOutcomeError {
  return new OperationOutcomeError(
    { status: 401, code: ErrorCode.UNAUTHORIZED, issueType: 'login', diagnostics },
    { 'WWW-Authenticate': 'Bearer realm="fhir", error="invalid_token"' },
  );
}

/** Whether any token key (secret, public key or JWKS) is configured. */
export function hasTokenKey(config: TokenKeyConfig): boolean {
  return Boolean(config.jwtSecret || config.jwtPublicKey || config.jwksUri);
}

function decodeSegment(segment: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw invalidToken('The bearer token is malformed');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidToken('The bearer token is malformed');
  return value as Record<string, unknown>;
}

function publicKeyAlgorithms(key: KeyObject): readonly string[] {
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') return RSA_ALGS;
  if (key.asymmetricKeyType === 'ec') return EC_ALGS;
  throw new Error('JWT_PUBLIC_KEY must be an RSA or EC public key (PEM)');
}

/** Maps a library failure to our 401 (or 503 when the key set cannot be fetched). */
function rejection(err: unknown): OperationOutcomeError {
  if (err instanceof OperationOutcomeError) return err;
  if (err instanceof jwt.TokenExpiredError || err instanceof joseErrors.JWTExpired) return invalidToken('The bearer token has expired');
  if (err instanceof jwt.NotBeforeError) return invalidToken('The bearer token is not valid yet');
  if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf') return invalidToken('The bearer token is not valid yet');
  if (err instanceof joseErrors.JWKSTimeout || (err instanceof Error && !(err instanceof joseErrors.JOSEError) && !(err instanceof jwt.JsonWebTokenError))) {
    return errors.unavailable(ErrorCode.NOT_READY, 'The token signing keys cannot be fetched');
  }
  return invalidToken('The bearer token is not valid');
}

/**
 * Builds the bearer-token verifier: HS256/384/512 with `JWT_SECRET`, RS/PS/ES with `JWT_PUBLIC_KEY`
 * (the algorithm family follows the key type), else RS/PS/ES from `JWKS_URI` (jose caches the key
 * set and refetches on an unknown `kid`, which follows key rotation). The header's `alg` picks the
 * key, and each key has its own allow-list, so a token "signed" with a public key as an HMAC secret
 * never verifies. `exp` is required, `nbf` honoured, both with {@link CLOCK_SKEW_SECONDS};
 * `iss`/`aud` are checked when configured. Verified tokens are kept (LRU) until they expire.
 * https://www.rfc-editor.org/rfc/rfc8725 (JWT best current practices)
 */
export function createTokenVerifier(config: TokenKeyConfig, options: TokenVerifierOptions = {}): TokenVerifier {
  if (!hasTokenKey(config)) throw new Error('No JWT key is configured (JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URI)');
  if (config.jwtSecret && Buffer.byteLength(config.jwtSecret) < HMAC_MIN_SECRET_BYTES) {
    throw new Error(`JWT_SECRET must be at least ${HMAC_MIN_SECRET_BYTES} bytes long`);
  }
  const clock = options.clock ?? systemClock;
  const cacheSize = options.cacheSize ?? 10_000;
  const publicKey = config.jwtPublicKey ? createPublicKey(config.jwtPublicKey.replace(/\\n/g, '\n')) : undefined;
  const publicAlgs = publicKey ? publicKeyAlgorithms(publicKey) : [...RSA_ALGS, ...EC_ALGS];
  const jwks: JWTVerifyGetKey | undefined = !publicKey && config.jwksUri ? createRemoteJWKSet(new URL(config.jwksUri)) : undefined;
  const claimChecks = {
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
  };
  const cache = new Map<string, VerifiedToken>();

  async function verifySignature(token: string, alg: string, nowSeconds: number): Promise<void> {
    if ((HMAC_ALGS as readonly string[]).includes(alg)) {
      if (!config.jwtSecret) throw invalidToken('The bearer token is not valid');
      jwt.verify(token, config.jwtSecret, { algorithms: [...HMAC_ALGS], clockTolerance: CLOCK_SKEW_SECONDS, clockTimestamp: nowSeconds, ...claimChecks });
    } else if (publicAlgs.includes(alg) && publicKey) {
      jwt.verify(token, publicKey, { algorithms: publicAlgs as jwt.Algorithm[], clockTolerance: CLOCK_SKEW_SECONDS, clockTimestamp: nowSeconds, ...claimChecks });
    } else if (publicAlgs.includes(alg) && jwks) {
      await jwtVerify(token, jwks, {
        algorithms: [...publicAlgs],
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(nowSeconds * 1000),
        requiredClaims: ['exp'],
        ...claimChecks,
      });
    } else {
      throw invalidToken('The bearer token is not valid');
    }
  }

  return {
    async verify(token: string): Promise<VerifiedToken> {
      const nowSeconds = Math.floor(clock.now().getTime() / 1000);
      const hit = cache.get(token);
      if (hit) {
        cache.delete(token);
        if (hit.expiresAt > nowSeconds) {
          cache.set(token, hit);
          return hit;
        }
      }
      if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalidToken('The bearer token is malformed');
      const [headerPart, payloadPart] = token.split('.') as [string, string, string];
      const header = decodeSegment(headerPart);
      const claims = decodeSegment(payloadPart);
      if (typeof header.alg !== 'string' || header.crit !== undefined) throw invalidToken('The bearer token is not valid');
      if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) throw invalidToken('The bearer token has no valid exp');
      if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || !Number.isFinite(claims.nbf))) {
        throw invalidToken('The bearer token has an invalid nbf');
      }
      try {
        await verifySignature(token, header.alg, nowSeconds);
      } catch (err) {
        throw rejection(err);
      }
      const verified: VerifiedToken = { claims, expiresAt: claims.exp };
      if (verified.expiresAt > nowSeconds) {
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
        cache.set(token, verified);
      }
      return verified;
    },
  };
}
