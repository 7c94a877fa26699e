/**
 * Canonical URLs of the server's own Patient extensions (SPEC §7), defined as StructureDefinitions in
 * `profiles/`. Both are server-managed: a client that sends them in create/update gets 422
 * SERVER_MANAGED_FIELD (see https://hl7.org/fhir/R4/extensibility.html).
 */
export const EXTENSION_BASE = 'http://fhir-patient-server.example/fhir/StructureDefinition';

/** Complex extension carrying the investigation hold (`active`, `notes`, `startedAt`, `startedBy`). */
export const PATIENT_INVESTIGATION_URL = `${EXTENSION_BASE}/patient-investigation`;

/** Complex extension carrying the deletion lifecycle (`status`, `reason`, `softDeletedAt`, …). */
export const PATIENT_DELETION_URL = `${EXTENSION_BASE}/patient-deletion`;

/** Extensions only the server may write. */
export const SERVER_MANAGED_EXTENSION_URLS: ReadonlySet<string> = new Set([PATIENT_INVESTIGATION_URL, PATIENT_DELETION_URL]);
