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

/**
 * A client that reads a patient and sends it back carries the server-managed extensions it was
 * given. Those unchanged copies are dropped before validation; a changed or invented one still
 * reaches validation and answers 422 SERVER_MANAGED_FIELD.
 */
export function withoutUnchangedServerManaged(body: unknown, current: Patient): unknown {
  if (!body || typeof body !== 'object' || !Array.isArray((body as Patient).extension)) return body;
  const stored = serverManagedExtensions(current).map((e) => JSON.stringify(e));
  const extension = (body as Patient).extension!.filter(
    (e) => !(e && typeof e === 'object' && SERVER_MANAGED_EXTENSION_URLS.has(e.url) && stored.includes(JSON.stringify(e))),
  );
  const copy: Record<string, unknown> = { ...(body as object) };
  if (extension.length) copy.extension = extension;
  else delete copy.extension;
  return copy;
}
