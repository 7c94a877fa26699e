import type { FhirRoute } from './fhir-route.js';
import type { PatientDeps } from '../patient/deps.js';
import { conditionalCreateHandler } from '../rest/conditional-handlers.js';
import { readPatientHandler, vreadPatientHandler } from '../patient/handlers/read-patient.js';
import { updatePatientHandler } from '../patient/handlers/update-patient.js';
import { patientHistoryHandler } from '../patient/handlers/patient-history.js';
import { searchPatientsHandler } from '../patient/handlers/search-patients.js';

/**
 * The Patient REST surface (SPEC §4). Order matters: literal segments (`_search`, `_history`,
 * `$…`) before `:id`.
 */
export const patientRoutes: FhirRoute<PatientDeps>[] = [
  { method: 'get', path: '/fhir/Patient', interaction: 'search-type', body: 'none', handler: searchPatientsHandler },
  { method: 'post', path: '/fhir/Patient/_search', interaction: 'search-type', body: 'form', handler: searchPatientsHandler },
  { method: 'post', path: '/fhir/Patient', interaction: 'create', body: 'json', handler: conditionalCreateHandler },
  { method: 'get', path: '/fhir/Patient/:id/_history/:vid', interaction: 'vread', body: 'none', handler: vreadPatientHandler },
  { method: 'get', path: '/fhir/Patient/:id/_history', interaction: 'history-instance', body: 'none', handler: patientHistoryHandler },
  { method: 'get', path: '/fhir/Patient/:id', interaction: 'read', body: 'none', handler: readPatientHandler },
  { method: 'put', path: '/fhir/Patient/:id', interaction: 'update', body: 'json', handler: updatePatientHandler },
];
