import type { FhirRoute } from '../http/fhir-route.js';
import type { PatientDeps } from '../patient/deps.js';
import { patchPatientHandler } from './patch-patient.js';
import { conditionalDeleteHandler, conditionalUpdateHandler } from './conditional-handlers.js';
import { typeHistoryHandler } from './type-history.js';

/**
 * REST completeness (SPEC §4): patch, conditional update and delete, type-level history. Conditional
 * create is `POST /fhir/Patient` with `If-None-Exist` (see `patient-routes.ts`); batch and
 * transaction are `bundle-routes.ts`. Mount before the Patient routes (`_history` before `:id`).
 */
export const restRoutes: FhirRoute<PatientDeps>[] = [
  { method: 'get', path: '/fhir/Patient/_history', interaction: 'history-type', body: 'none', handler: typeHistoryHandler },
  { method: 'patch', path: '/fhir/Patient/:id', interaction: 'patch', body: 'json-patch', handler: patchPatientHandler },
  { method: 'put', path: '/fhir/Patient', interaction: 'update', body: 'json', handler: conditionalUpdateHandler },
  { method: 'delete', path: '/fhir/Patient', interaction: 'delete', body: 'none', handler: conditionalDeleteHandler },
];
