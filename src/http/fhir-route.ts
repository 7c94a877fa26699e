import type { NextFunction, Request, Response } from 'express';
import type { FhirHandler } from '../fhir/request.js';
import { toFhirRequest } from './fhir-request.js';
import { sendFhirResponse } from './respond.js';
import { localsOf } from './request-context.js';
import { authorize, resourceTypeOfRoute } from '../auth/authorize.js';
import { markAuditRoute, runAudited } from '../audit/record-audit.js';

/** How a route's request body is read. */
export type BodyKind = 'none' | 'json' | 'json-patch' | 'form';

/** One FHIR route: the HTTP side of an interaction. */
export interface FhirRoute<D> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path, e.g. `/fhir/Patient/:id`. */
  path: string;
  /** FHIR interaction or operation name, e.g. `read`, `search-type`, `$restore` (for audit and scopes). */
  interaction: string;
  body: BodyKind;
  handler: FhirHandler<D>;
  /**
   * `job`: the route's job writes the request's AuditEvent in the transaction of its change
   * (`$restore`, `$anonymize`); the route itself records none, unless it fails before enqueueing.
   */
  auditedBy?: 'job';
}

/** Adapts a FHIR handler to Express: FhirRequest in, FhirResponse out, errors to the error handler. */
export function expressHandler<D>(route: FhirRoute<D>, deps: D) {
  const resourceType = resourceTypeOfRoute(route.path);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const locals = localsOf(res);
    locals.route = `${route.method.toUpperCase()} ${route.path}`;
    markAuditRoute(res, route, req.params as Record<string, string>);
    try {
      // Role and SMART scope for this interaction (403); compartments are the handlers' part.
      authorize(locals.context.actor, route.interaction, resourceType);
      const fhirRequest = toFhirRequest(req, req.path);
      // The AuditEvent is written before anything is sent (in the change's transaction for writes).
      const answer = await runAudited(route, fhirRequest, res, deps);
      sendFhirResponse(res, fhirRequest, answer);
    } catch (err) {
      next(err);
    }
  };
}
