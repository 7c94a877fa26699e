import type { NextFunction, Request, Response } from 'express';
import type { Actor } from '../context/actor.js';
import { actorFromClaims } from '../auth/actor-from-claims.js';
import { invalidToken, type TokenVerifier, type VerifiedToken } from '../auth/verify-token.js';
import { errors } from '../fhir/outcome.js';
import { localsOf } from './request-context.js';

/** Routes served without a token (GET and HEAD only). Everything else needs `Authorization: Bearer`. */
export const PUBLIC_PATHS: readonly string[] = [
  '/fhir/metadata',
  '/.well-known/smart-configuration',
  '/fhir/.well-known/smart-configuration',
  '/healthz',
  '/readyz',
];
const publicPaths = new Set(PUBLIC_PATHS);

/** Whether a request may be served without a token. */
export function isPublicRequest(method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return publicPaths.has(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
}

// One scheme, one token, optional trailing spaces (RFC 6750 §2.1).
const BEARER = /^Bearer +([^\s,]+) *$/i;

/**
 * The token of an `Authorization` header: exactly one header, scheme `Bearer`, one token. Anything
 * else (no header, Basic, two headers, two tokens) is 401.
 * https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export function bearerToken(headers: readonly string[] | undefined): string {
  if (!headers || headers.length === 0) throw errors.unauthorized('A bearer token is required');
  if (headers.length > 1) throw invalidToken('Only one Authorization header is allowed');
  const match = BEARER.exec(headers[0]!);
  if (!match) throw invalidToken('The Authorization header must be "Bearer <token>"');
  return match[1]!;
}

export interface AuthOptions {
  verifier: TokenVerifier;
  /** Claim that carries the roles array (`AUTH_ROLES_CLAIM`). */
  rolesClaim: string;
}

/**
 * Authenticates every non-public request: verifies the bearer token and puts the Actor on the
 * request context (`res.locals.context.actor`). Public routes pass untouched. Actors are built
 * once per verified token (the verifier caches tokens until they expire).
 */
export function authMiddleware(options: AuthOptions) {
  const actors = new WeakMap<VerifiedToken, Actor>();
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (isPublicRequest(req.method, req.path)) return next();
    try {
      const token = bearerToken(req.headersDistinct.authorization);
      const verified = await options.verifier.verify(token);
      let actor = actors.get(verified);
      if (!actor) {
        actor = actorFromClaims(verified.claims, options.rolesClaim);
        actors.set(verified, actor);
      }
      localsOf(res).context.actor = actor;
      // Answers carry PHI: no shared or browser cache may keep them.
      res.setHeader('Cache-Control', 'no-store');
      next();
    } catch (err) {
      next(err);
    }
  };
}
