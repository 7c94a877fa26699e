import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import type { RequestContext } from '../../context/request-context.js';
import type { StoredPatient } from '../../store/port.js';
import { errors } from '../../fhir/outcome.js';
import { assertFhirId, assertVersionId } from '../../fhir/id.js';
import { versionOf } from '../../fhir/resource-version.js';
import { versionFromEtag } from '../../fhir/etag.js';
import type { PatientDeps } from '../deps.js';
import { assertPatientInCompartment } from '../../auth/compartment.js';
import { parseReadSubset } from '../../fhir/search/parse.js';
import { subsetResource } from '../../fhir/subset.js';

/**
 * `GET /fhir/Patient/{id}` (https://hl7.org/fhir/R4/http.html#read): 404 when the id never existed,
 * 410 when the patient is soft-deleted or anonymized, 304 for a matching `If-None-Match` or an
 * `If-Modified-Since` not older than the last update.
 */
export async function readPatientHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  const stored = await deps.store.read(id);
  if (!stored) throw errors.notFound();
  assertPatientInCompartment(ctx.actor, stored.resource);
  if (stored.state !== 'active') throw errors.gone();
  return conditionalRead(req, stored);
}

/** `GET /fhir/Patient/{id}/_history/{vid}` (https://hl7.org/fhir/R4/http.html#vread). */
export async function vreadPatientHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  const versionId = assertVersionId(req.params.vid);
  const current = await deps.store.read(id);
  if (!current) throw errors.notFound();
  assertPatientInCompartment(ctx.actor, current.resource);
  const stored = await deps.store.readVersion(id, versionId);
  if (!stored) throw errors.versionNotFound();
  // The version that records a deletion reads as deleted (https://hl7.org/fhir/R4/http.html#vread).
  if (stored.state === 'soft-deleted') throw errors.gone();
  return conditionalRead(req, stored);
}

/** The stored version, or 304 for a matching `If-None-Match`/`If-Modified-Since`; `_summary`/`_elements` cut it. */
function conditionalRead(req: FhirRequest, stored: StoredPatient): FhirResponse {
  const subset = parseReadSubset(req.query);
  const version = versionOf(stored.resource);
  const { ifNoneMatch, ifModifiedSince } = req.headers;
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*' || versionFromEtag(ifNoneMatch, 'If-None-Match') === version.versionId) {
      return { status: 304, version };
    }
  } else if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    // HTTP dates have second precision: compare whole seconds.
    if (!Number.isNaN(since) && Math.floor(Date.parse(version.lastUpdated) / 1000) <= Math.floor(since / 1000)) {
      return { status: 304, version };
    }
  }
  return { status: 200, resource: subsetResource(stored.resource, subset.summary, subset.elements), version };
}
