import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { RequestContext } from '../context/request-context.js';
import type { PatientDeps } from '../patient/deps.js';
import { errors, ErrorCode, isOperationOutcomeError } from '../fhir/outcome.js';
import { versionOf } from '../fhir/resource-version.js';
import { createPatientHandler } from '../patient/handlers/create-patient.js';
import { updatePatientHandler } from '../patient/handlers/update-patient.js';
import { deletePatientHandler } from '../lifecycle/handlers.js';
import { authorize } from '../auth/authorize.js';
import { criteriaOf, findMatches, multipleMatches } from './conditional-match.js';

/**
 * `POST /fhir/Patient`, with conditional create when `If-None-Exist` is sent
 * (https://hl7.org/fhir/R4/http.html#ccreate): no match → created (201), one → 200 with the
 * existing patient and nothing written, several → 412 `MULTIPLE_MATCHES`. The route runs inside
 * one store transaction (create is a write), so on SQLite the match and the create are serialized:
 * two identical conditional creates make one patient. On MongoDB the identifier's unique key
 * decides a race; the loser's 409 is answered as "found" by searching again.
 */
export async function conditionalCreateHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const header = req.headers.ifNoneExist;
  if (header === undefined) return createPatientHandler(req, ctx, deps);
  const criteria = criteriaOf(header);
  const found = async (): Promise<FhirResponse | undefined> => {
    const matches = await findMatches(deps.store, ctx, criteria, deps.cursorKey);
    if (matches.length > 1) throw multipleMatches();
    const match = matches[0];
    return match && { status: 200, resource: match, version: versionOf(match) };
  };
  const existing = await found();
  if (existing) return existing;
  try {
    return await createPatientHandler(req, ctx, deps);
  } catch (err) {
    if (deps.store.engine !== 'mongodb' || !isOperationOutcomeError(err) || err.code !== ErrorCode.DUPLICATE_IDENTIFIER) throw err;
    const again = await found();
    if (again) return again;
    throw err;
  }
}

/**
 * `PUT /fhir/Patient?criteria` (https://hl7.org/fhir/R4/http.html#cond-update): no match → create
 * (201; needs the create permission, and a body without `id` since ids are the server's), one →
 * update of that patient with the usual `If-Match` rules (a body `id` that differs → 400
 * `ID_MISMATCH`), several → 412 `MULTIPLE_MATCHES`.
 */
export async function conditionalUpdateHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const matches = await findMatches(deps.store, ctx, req.query, deps.cursorKey);
  if (matches.length > 1) throw multipleMatches();
  const body = req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as { id?: unknown }) : undefined;
  const match = matches[0];
  if (!match) {
    if (body?.id !== undefined) {
      throw errors.badRequest(ErrorCode.ID_MISMATCH, 'No patient matches: leave the id out to create one (ids are the server\'s)', ['Patient.id']);
    }
    authorize(ctx.actor, 'create', 'Patient');
    return createPatientHandler(req, ctx, deps);
  }
  const id = match.id!;
  if (body?.id !== undefined && body.id !== id) {
    throw errors.badRequest(ErrorCode.ID_MISMATCH, 'The id in the body differs from the id of the matching patient', ['Patient.id']);
  }
  return updatePatientHandler({ ...req, params: { id }, body: body ? { ...body, id } : req.body }, ctx, deps);
}

/**
 * `DELETE /fhir/Patient?criteria` (https://hl7.org/fhir/R4/http.html#cdelete), single-match only:
 * one → the lifecycle's soft delete of that patient (`reason`, `note`, `If-Match` as for DELETE),
 * none → 404 `NOT_FOUND` (like a DELETE of an unknown id here), several → 412 `MULTIPLE_MATCHES`.
 */
export async function conditionalDeleteHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const matches = await findMatches(deps.store, ctx, req.query, deps.cursorKey);
  if (matches.length > 1) throw multipleMatches();
  const match = matches[0];
  if (!match) throw errors.notFound('No patient matches the criteria');
  return deletePatientHandler({ ...req, params: { id: match.id! } }, ctx, deps);
}
