import { isDeepStrictEqual } from 'node:util';
import type { Patient } from 'fhir/r4.js';
import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import type { RequestContext } from '../../context/request-context.js';
import type { PatientRecord } from '../../store/port.js';
import { errors, ErrorCode } from '../../fhir/outcome.js';
import { assertFhirId } from '../../fhir/id.js';
import { versionFromEtag } from '../../fhir/etag.js';
import { versionOf } from '../../fhir/resource-version.js';
import { validatePatient } from '../validation/validate-patient.js';
import { buildPatientRecord } from '../record.js';
import { withServerManagedFrom, withoutUnchangedServerManaged } from '../server-managed.js';
import type { PatientDeps } from '../deps.js';
import { assertPatientInCompartment, assertWritableInCompartment } from '../../auth/compartment.js';

/**
 * `PUT /fhir/Patient/{id}` (https://hl7.org/fhir/R4/http.html#update) with optimistic locking
 * (https://hl7.org/fhir/R4/http.html#concurrency): `If-Match` required when `REQUIRE_IF_MATCH`
 * (428), stale → 412 VERSION_CONFLICT. Ids are the server's: an unknown id answers 404 (no
 * update-as-create). A deleted patient answers 410 (restore it with `$restore`). An update that
 * changes nothing keeps the current version.
 */
export async function updatePatientHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  const body = req.body as { id?: unknown; meta?: { versionId?: unknown } } | undefined;
  const expected = expectedVersion(req, deps.requireIfMatch);
  const now = ctx.clock.now();
  const current = await deps.store.read(id);
  if (current) assertPatientInCompartment(ctx.actor, current.resource);
  const incoming = validatePatient(current ? withoutUnchangedServerManaged(req.body, current.resource) : req.body, {
    now,
    mode: 'update',
  });
  if (body?.id === undefined) {
    throw errors.badRequest(ErrorCode.ID_MISMATCH, 'The Patient in the body must carry the id of the URL', ['Patient.id']);
  }
  if (body.id !== id) {
    throw errors.badRequest(ErrorCode.ID_MISMATCH, 'The id in the body differs from the id in the URL', ['Patient.id']);
  }
  if (!current) throw errors.notFound();
  if (current.state !== 'active') throw errors.gone();
  const currentVersion = current.resource.meta?.versionId ?? '';
  const clientVersion = typeof body.meta?.versionId === 'string' ? body.meta.versionId : undefined;
  for (const wanted of [expected, clientVersion]) {
    if (wanted !== undefined && wanted !== currentVersion) {
      throw errors.preconditionFailed(ErrorCode.VERSION_CONFLICT, `The patient is at another version than the one expected`);
    }
  }

  const next = withServerManagedFrom(current.resource, incoming);
  if (sameContent(next, current.resource)) {
    return { status: 200, resource: current.resource, version: versionOf(current.resource) };
  }
  const resource: PatientRecord['resource'] = {
    ...next,
    id,
    meta: { ...next.meta, versionId: String(Number(currentVersion) + 1), lastUpdated: now.toISOString() },
  };
  assertWritableInCompartment(ctx.actor, resource);
  await deps.store.update(buildPatientRecord(resource, 'active', deps), currentVersion);
  return { status: 200, resource, version: versionOf(resource) };
}

function expectedVersion(req: FhirRequest, required: boolean): string | undefined {
  const header = req.headers.ifMatch;
  if (header === undefined) {
    if (required) throw errors.preconditionRequired();
    return undefined;
  }
  return versionFromEtag(header);
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
