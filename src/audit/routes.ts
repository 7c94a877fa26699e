import type { FhirRoute } from '../http/fhir-route.js';
import { readAuditEventHandler, searchAuditEventsHandler, verifyAuditChainHandler, type AuditDeps } from './handlers.js';

/**
 * The read-only AuditEvent surface (SPEC §8). Other methods on these paths answer 405 (app.ts adds
 * that for every route path). `$verify` comes before `:id`. Interaction names are what
 * `auth/scopes.ts` checks roles by.
 */
export const auditRoutes: FhirRoute<AuditDeps>[] = [
  { method: 'get', path: '/fhir/AuditEvent', interaction: 'search-type', body: 'none', handler: searchAuditEventsHandler },
  { method: 'get', path: '/fhir/AuditEvent/$verify', interaction: '$verify', body: 'none', handler: verifyAuditChainHandler },
  { method: 'get', path: '/fhir/AuditEvent/:id', interaction: 'read', body: 'none', handler: readAuditEventHandler },
];
