import type { Extension, Patient } from 'fhir/r4.js';
import { SERVER_MANAGED_EXTENSION_URLS } from './extensions.js';

/** The server-managed extensions of a stored patient (investigation hold, deletion state). */
export function serverManagedExtensions(patient: Patient): Extension[] {
  return (patient.extension ?? []).filter((e) => SERVER_MANAGED_EXTENSION_URLS.has(e.url));
}

/**
 * A client update never carries the server-managed extensions (validation refuses them), so the
 * stored ones are carried over onto the new version.
 */
export function withServerManagedFrom(current: Patient, incoming: Patient): Patient {
  const managed = serverManagedExtensions(current);
  if (managed.length === 0) return incoming;
  return { ...incoming, extension: [...(incoming.extension ?? []), ...managed] };
}
