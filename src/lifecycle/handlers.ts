import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { RequestContext } from '../context/request-context.js';
import { ErrorCode, errors } from '../fhir/outcome.js';
import { assertFhirId } from '../fhir/id.js';
import { assertTargetInCompartment } from './operation-target.js';
import { versionFromEtag } from '../fhir/etag.js';
import { versionOf } from '../fhir/resource-version.js';
import { gracePeriodMs, type LifecycleDeps } from './deps.js';
import { DELETION_REASONS, MAX_NOTE_LENGTH } from './lifecycle-extensions.js';
import { softDeletePatient } from './soft-delete.js';
import { endInvestigation, startInvestigation } from './investigation.js';

// `$restore` and `$anonymize` run as jobs: see operation-handlers.ts.
export { anonymizeHandler, restoreHandler } from './operation-handlers.js';

const REASONS: ReadonlySet<string> = new Set(DELETION_REASONS);

/**
 * `DELETE /fhir/Patient/{id}` (https://hl7.org/fhir/R4/http.html#delete; SPEC §7): soft delete.
 * Optional query `reason` (a code of `…/CodeSystem/deletion-reason`, else 400) and `note` (<= 1000
 * characters, else 422); `If-Match` honoured (412). Answers 204 with the ETag of the deletion
 * version; deleting an already deleted patient answers 204 again and changes nothing.
 */
export async function deletePatientHandler(req: FhirRequest, ctx: RequestContext, deps: LifecycleDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  // Outside the caller's compartment: 404, as for an unknown id (deps.store is this request's transaction).
  await assertTargetInCompartment(deps.store, ctx.actor, id);
  const reason = single(req, 'reason');
  if (reason !== undefined && !REASONS.has(reason)) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, 'reason must be a code of the deletion-reason CodeSystem', ['reason']);
  }
  const note = single(req, 'note');
  if (note !== undefined && note.length > MAX_NOTE_LENGTH) {
    throw errors.unprocessable(ErrorCode.BUSINESS_RULE, `note must be at most ${MAX_NOTE_LENGTH} characters`, ['note']);
  }
  const expected = req.headers.ifMatch === undefined ? undefined : versionFromEtag(req.headers.ifMatch);
  const result = await softDeletePatient(deps.store, {
    id,
    ...(reason !== undefined ? { reason } : {}),
    ...(note !== undefined ? { note } : {}),
    ...(expected !== undefined ? { expectedVersionId: expected } : {}),
    requestedBy: ctx.actor.subject,
    now: ctx.clock.now(),
    gracePeriodMs: gracePeriodMs(deps),
    uniqueContacts: deps.uniqueContacts,
    ...(deps.correlationSecret !== undefined ? { correlationSecret: deps.correlationSecret } : {}),
  });
  return { status: 204, version: versionOf(result.resource) };
}

/** `POST /fhir/Patient/{id}/$investigation-start` with a Parameters body (`notes`, optional). */
export async function investigationStartHandler(req: FhirRequest, ctx: RequestContext, deps: LifecycleDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  await assertTargetInCompartment(deps.store, ctx.actor, id);
  const notes = notesParameter(req.body);
  const resource = await startInvestigation(deps.store, {
    id,
    now: ctx.clock.now(),
    actor: ctx.actor.subject,
    uniqueContacts: deps.uniqueContacts,
    ...(notes !== undefined ? { notes } : {}),
  });
  return { status: 200, resource, version: versionOf(resource) };
}

/** `POST /fhir/Patient/{id}/$investigation-end`: lifts the hold. */
export async function investigationEndHandler(req: FhirRequest, ctx: RequestContext, deps: LifecycleDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  await assertTargetInCompartment(deps.store, ctx.actor, id);
  const resource = await endInvestigation(deps.store, {
    id,
    now: ctx.clock.now(),
    actor: ctx.actor.subject,
    uniqueContacts: deps.uniqueContacts,
  });
  return { status: 200, resource, version: versionOf(resource) };
}

/**
 * The `notes` of an operation's Parameters body (https://hl7.org/fhir/R4/operations.html): 400 when
 * the body is not a Parameters resource or `notes` is not a string, 422 when longer than 1000.
 */
export function notesParameter(body: unknown): string | undefined {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return undefined;
  const parameters = body as { resourceType?: unknown; parameter?: unknown };
  if (typeof body !== 'object' || Array.isArray(body) || parameters.resourceType !== 'Parameters') {
    throw errors.badRequest(ErrorCode.INVALID_RESOURCE, 'The body must be a Parameters resource');
  }
  if (parameters.parameter === undefined) return undefined;
  if (!Array.isArray(parameters.parameter)) {
    throw errors.badRequest(ErrorCode.INVALID_RESOURCE, 'Parameters.parameter must be an array', ['Parameters.parameter']);
  }
  let notes: string | undefined;
  parameters.parameter.forEach((p: unknown, i: number) => {
    const param = p as { name?: unknown; valueString?: unknown } | null;
    if (param?.name !== 'notes') return;
    const where = `Parameters.parameter[${i}].valueString`;
    if (typeof param.valueString !== 'string' || notes !== undefined) {
      throw errors.badRequest(ErrorCode.INVALID_PARAMETER, 'notes must be given once, as valueString', [where]);
    }
    if (param.valueString.length > MAX_NOTE_LENGTH) {
      throw errors.unprocessable(ErrorCode.BUSINESS_RULE, `notes must be at most ${MAX_NOTE_LENGTH} characters`, [where]);
    }
    notes = param.valueString;
  });
  return notes;
}

function single(req: FhirRequest, name: string): string | undefined {
  const values = req.query[name];
  if (!values) return undefined;
  if (values.length > 1) throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `${name} may appear once`, [name]);
  return values[0];
}
