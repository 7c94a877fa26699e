import type { Actor } from './actor.js';
import type { Clock } from './clock.js';

/**
 * Everything a handler needs to know about the request that is not the request itself. Passed
 * explicitly from the HTTP layer to handlers and on to the store — there is no global context.
 */
export interface RequestContext {
  requestId: string;
  /** W3C trace id (32 hex) taken from `traceparent` or generated. */
  traceId: string;
  clientIp: string;
  userAgent?: string;
  actor: Actor;
  clock: Clock;
  /** Base URL of the FHIR endpoint as the client sees it, e.g. `http://localhost:8080/fhir`. */
  baseUrl: string;
}
