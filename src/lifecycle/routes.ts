import type { FhirRoute } from '../http/fhir-route.js';
import type { LifecycleDeps } from './deps.js';
import { deletedListHandler } from './deleted-list.js';
import {
  anonymizeHandler,
  deletePatientHandler,
  investigationEndHandler,
  investigationStartHandler,
  restoreHandler,
} from './handlers.js';
import { jobStatusHandler } from './operation-handlers.js';

/**
 * The deletion-lifecycle routes (SPEC §7). Mount them before the Patient routes: `$deleted` must
 * win over `/fhir/Patient/:id`. `GET /fhir/$job/{jobId}` answers the operation jobs. `interaction`
 * names are what auth (admin only) and audit key on.
 */
export const lifecycleRoutes: FhirRoute<LifecycleDeps>[] = [
  { method: 'get', path: '/fhir/Patient/$deleted', interaction: '$deleted', body: 'none', handler: deletedListHandler },
  { method: 'delete', path: '/fhir/Patient/:id', interaction: 'delete', body: 'none', handler: deletePatientHandler },
  {
    method: 'post',
    path: '/fhir/Patient/:id/$investigation-start',
    interaction: '$investigation-start',
    body: 'json',
    handler: investigationStartHandler,
  },
  {
    method: 'post',
    path: '/fhir/Patient/:id/$investigation-end',
    interaction: '$investigation-end',
    body: 'none',
    handler: investigationEndHandler,
  },
  // Jobs: the job writes the request's AuditEvent with the change (`auditedBy: 'job'`).
  { method: 'post', path: '/fhir/Patient/:id/$restore', interaction: '$restore', body: 'none', handler: restoreHandler, auditedBy: 'job' },
  { method: 'post', path: '/fhir/Patient/:id/$anonymize', interaction: '$anonymize', body: 'none', handler: anonymizeHandler, auditedBy: 'job' },
  { method: 'get', path: '/fhir/$job/:jobId', interaction: '$job', body: 'none', handler: jobStatusHandler },
];
