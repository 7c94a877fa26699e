import type { FhirRoute } from './fhir-route.js';
import type { PatientDeps } from '../patient/deps.js';
import { bundleHandler } from '../rest/process-bundle.js';

/**
 * `POST /fhir` with a `batch` or `transaction` Bundle (https://hl7.org/fhir/R4/http.html#transaction).
 * `routes` is the route table its entries are served by (every route but this one). Authorization
 * here only asks for some grant; each entry is authorized as its REST twin would be.
 */
export function bundleRoutes(routes: () => readonly FhirRoute<PatientDeps>[]): FhirRoute<PatientDeps>[] {
  return [{ method: 'post', path: '/fhir', interaction: 'transaction', body: 'json', handler: bundleHandler(routes) }];
}
