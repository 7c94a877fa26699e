import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import type { RequestContext } from '../../context/request-context.js';
import { errors, ErrorCode } from '../../fhir/outcome.js';
import { assertFhirId } from '../../fhir/id.js';
import { versionFromEtag } from '../../fhir/etag.js';
import { validatePatient } from '../validation/validate-patient.js';
import { withoutUnchangedServerManaged } from '../server-managed.js';
import type { PatientDeps } from '../deps.js';
import { assertPatientInCompartment } from '../../auth/compartment.js';
import { writeNextVersion } from '../../rest/next-version.js';

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
  const clientVersion = typeof body.meta?.versionId === 'string' ? body.meta.versionId : undefined;
  return writeNextVersion({
    store: deps.store,
    actor: ctx.actor,
    now,
    uniqueContacts: deps.uniqueContacts,
    current,
    incoming,
    expectedVersions: [expected, clientVersion],
  });
}

/** `If-Match` as an expected version: 428 when required and missing, 400 when garbled. */
export function expectedVersion(req: FhirRequest, required: boolean): string | undefined {
  const header = req.headers.ifMatch;
  if (header === undefined) {
    if (required) throw errors.preconditionRequired();
    return undefined;
  }
  return versionFromEtag(header);
}
