import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../observability/logger.js';
import { localsOf } from './request-context.js';

/**
 * One log line per request: request id, trace id, method, route template, status, duration.
 * Never the URL, query values or bodies (they may carry PHI).
 */
export function accessLogMiddleware(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.on('finish', () => {
      const locals = localsOf(res);
      const durationMs = Number(process.hrtime.bigint() - locals.startedAt) / 1e6;
      logger.info('request', {
        requestId: locals.context?.requestId,
        traceId: locals.context?.traceId,
        method: req.method,
        route: locals.route ?? 'unmatched',
        status: res.statusCode,
        durationMs: Math.round(durationMs * 100) / 100,
      });
    });
    next();
  };
}
