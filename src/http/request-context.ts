import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { RequestContext } from '../context/request-context.js';
import type { Clock } from '../context/clock.js';
import type { Actor } from '../context/actor.js';

const REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Until a token says otherwise, nobody is acting. */
export const anonymousActor: Actor = { subject: 'anonymous', roles: [], scopes: [] };

/** Per-request state kept on `res.locals`. */
export interface RequestLocals {
  context: RequestContext;
  /** Route template for logs and metrics (never the concrete URL). */
  route?: string;
  startedAt: bigint;
}

export function localsOf(res: Response): RequestLocals {
  return res.locals as RequestLocals;
}

/**
 * Builds the request context: `X-Request-Id` echoed when well-formed (else generated), W3C
 * `traceparent` accepted and propagated with a new span id, client address and user agent.
 */
export function requestContextMiddleware(options: { clock: Clock; publicBaseUrl: string }) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incomingId = req.get('x-request-id');
    const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const trace = TRACEPARENT.exec(req.get('traceparent') ?? '');
    // randomUUID draws from a pooled entropy buffer: much cheaper per request than randomBytes
    const traceId = trace && !/^0+$/.test(trace[1]!) ? trace[1]! : randomUUID().replaceAll('-', '');
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('traceparent', `00-${traceId}-${randomUUID().slice(-16).replace('-', '0')}-${trace?.[3] ?? '01'}`);
    const userAgent = req.get('user-agent');
    const context: RequestContext = {
      requestId,
      traceId,
      clientIp: req.socket.remoteAddress ?? 'unknown',
      ...(userAgent ? { userAgent: userAgent.slice(0, 512) } : {}),
      actor: anonymousActor,
      clock: options.clock,
      baseUrl: `${options.publicBaseUrl || `${req.protocol}://${req.get('host') ?? 'localhost'}`}/fhir`,
    };
    res.locals.context = context;
    res.locals.startedAt = process.hrtime.bigint();
    next();
  };
}
