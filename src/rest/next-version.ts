import { isDeepStrictEqual } from 'node:util';
import type { Patient } from 'fhir/r4.js';
import type { Actor } from '../context/actor.js';
import type { FhirResponse } from '../fhir/request.js';
import type { PatientRecord, PatientStore, StoredPatient } from '../store/port.js';
import { errors, ErrorCode } from '../fhir/outcome.js';
import { versionOf } from '../fhir/resource-version.js';
import { buildPatientRecord } from '../patient/record.js';
import { withServerManagedFrom } from '../patient/server-managed.js';
import { assertWritableInCompartment } from '../auth/compartment.js';

/** What {@link writeNextVersion} needs: the stored current version and the validated new content. */
export interface NextVersionInput {
  store: PatientStore;
  actor: Actor;
  now: Date;
  uniqueContacts: boolean;
  /** The stored current version (already checked to be in the actor's compartment). */
  current: StoredPatient;
  /** The validated client content, without server-managed extensions. */
  incoming: Patient;
  /** Versions the client expects the patient to be at (`If-Match`, body `meta.versionId`); each must match. */
  expectedVersions: (string | undefined)[];
}

/**
 * The shared end of update and patch (https://hl7.org/fhir/R4/http.html#update,
 * https://hl7.org/fhir/R4/http.html#patch): 410 unless active, 412 `VERSION_CONFLICT` when an
 * expected version is stale (https://hl7.org/fhir/R4/http.html#concurrency), server-managed
 * extensions carried over, a no-op keeps the current version, else version n+1 is written with a
 * compare-and-set on version n.
 */
export async function writeNextVersion(input: NextVersionInput): Promise<FhirResponse> {
  const { current } = input;
  if (current.state !== 'active') throw errors.gone();
  const id = current.resource.id ?? '';
  const currentVersion = current.resource.meta?.versionId ?? '';
  for (const wanted of input.expectedVersions) {
    if (wanted !== undefined && wanted !== currentVersion) {
      throw errors.preconditionFailed(ErrorCode.VERSION_CONFLICT, 'The patient is at another version than the one expected');
    }
  }
  const next = withServerManagedFrom(current.resource, input.incoming);
  if (sameContent(next, current.resource)) {
    return { status: 200, resource: current.resource, version: versionOf(current.resource) };
  }
  const resource: PatientRecord['resource'] = {
    ...next,
    id,
    meta: { ...next.meta, versionId: String(Number(currentVersion) + 1), lastUpdated: input.now.toISOString() },
  };
  assertWritableInCompartment(input.actor, resource);
  await input.store.update(buildPatientRecord(resource, 'active', { uniqueContacts: input.uniqueContacts }), currentVersion);
  return { status: 200, resource, version: versionOf(resource) };
}

/** Equal but for `meta.versionId` / `meta.lastUpdated`. */
function sameContent(a: Patient, b: Patient): boolean {
  const strip = (p: Patient) => {
    const { versionId: _v, lastUpdated: _l, ...meta } = p.meta ?? {};
    const { meta: _m, id: _i, ...rest } = p;
    return { ...rest, meta };
  };
  return isDeepStrictEqual(strip(a), strip(b));
}
