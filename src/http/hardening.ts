import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { ErrorCode, OperationOutcomeError, errors } from '../fhir/outcome.js';
import { localsOf } from './request-context.js';

/**
 * Security headers fit for a JSON API (helmet): nothing may be framed, embedded or executed
 * (`Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`), no MIME sniffing,
 * no referrer, HSTS.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginEmbedderPolicy: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  }) as RequestHandler;
}

const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'Accept', 'If-Match', 'If-None-Match', 'If-None-Exist', 'If-Modified-Since',
  'Prefer', 'Idempotency-Key', 'X-Request-Id', 'traceparent',
].join(', ');
const EXPOSED_HEADERS = [
  'ETag', 'Last-Modified', 'Location', 'Content-Location', 'X-Request-Id', 'traceparent', 'Retry-After',
  'WWW-Authenticate', 'RateLimit', 'RateLimit-Policy',
].join(', ');

/**
 * CORS with an allow-list of exact origins (`CORS_ORIGINS`; `*` allows any). Bearer tokens are not
 * cookies, so credentials are never allowed. A preflight from an allowed origin answers 204; from
 * another origin 403. Requests without `Origin` pass untouched.
 * https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export function corsAllowList(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get('origin');
    if (origin === undefined) return next();
    res.vary('Origin');
    const ok = any || allowed.has(origin);
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
    if (!preflight) return next();
    localsOf(res).route = 'OPTIONS (CORS preflight)';
    if (!ok) return next(errors.forbidden(ErrorCode.FORBIDDEN, 'This origin is not allowed (CORS_ORIGINS)'));
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

function rateLimited(res: Response): OperationOutcomeError {
  const retryAfter = String(res.getHeader('Retry-After') ?? '60');
  return new OperationOutcomeError(
    { status: 429, code: ErrorCode.RATE_LIMITED, issueType: 'throttled', diagnostics: 'Too many requests; retry later' },
    { 'Retry-After': retryAfter },
  );
}

function limiter(perMinute: number, key: (req: Request, res: Response) => string | undefined): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // Our key functions already handle IPv6 and proxies; the library's checks would log to stderr.
    validate: false,
    skip: (req, res) => key(req, res) === undefined,
    keyGenerator: (req, res) => key(req, res)!,
    handler: (_req, res, next) => next(rateLimited(res)),
  }) as RequestHandler;
}

/**
 * Requests per minute per client address (IPv6 by /56 network), before authentication, so token
 * guessing is throttled too. 429 `RATE_LIMITED` with `Retry-After`.
 */
export function rateLimitByIp(perMinute: number): RequestHandler {
  return limiter(perMinute, (req) => `ip:${ipKeyGenerator(req.socket.remoteAddress ?? 'unknown')}`);
}

/** Requests per minute per token subject, after authentication (anonymous requests are not counted). */
export function rateLimitBySubject(perMinute: number): RequestHandler {
  return limiter(perMinute, (_req, res) => {
    const actor = localsOf(res).context?.actor;
    return actor && actor.subject !== 'anonymous' ? `sub:${actor.subject}` : undefined;
  });
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a request changes data (`POST …/_search` is a read). */
export function isWriteRequest(method: string, path: string): boolean {
  return !READS.has(method) && !(method === 'POST' && path.endsWith('/_search'));
}

/** `READ_ONLY=true` kill switch: every write answers 503 `READ_ONLY`; reads go on. */
export function readOnlyGuard(readOnly: boolean): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (readOnly && isWriteRequest(req.method, req.path)) {
      return next(errors.unavailable(ErrorCode.READ_ONLY, 'The server is in read-only mode (READ_ONLY); writes are refused'));
    }
    next();
  };
}
