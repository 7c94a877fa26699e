import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { RequestContext } from '../context/request-context.js';
import { ErrorCode, OperationOutcomeError, errors, informational, type Problem } from '../fhir/outcome.js';
import { assertFhirId } from '../fhir/id.js';
import { versionOf } from '../fhir/resource-version.js';
import { markAudited } from '../audit/record-audit.js';
import { InlineJobQueue, type JobQueue, type JobStatus } from '../jobs/job-queue.js';
import { OperationJobName, auditFactsOf } from '../jobs/operation-jobs.js';
import type { JobResultRecord } from '../jobs/job-results.js';
import type { LifecycleDeps } from './deps.js';
import { assertTargetInCompartment } from './operation-target.js';

/** `OPERATION_WAIT` default, PT30S. */
export const DEFAULT_OPERATION_WAIT_MS = 30_000;

/** `POST /fhir/Patient/{id}/$restore` (SPEC §7): a `patient-restore` job; answers the restored Patient. */
export function restoreHandler(req: FhirRequest, ctx: RequestContext, deps: LifecycleDeps): Promise<FhirResponse> {
  return runOperation(OperationJobName.restore, '$restore', req, ctx, deps);
}

/** `POST /fhir/Patient/{id}/$anonymize` (SPEC §7): a `patient-anonymize` job; answers what remains. */
export function anonymizeHandler(req: FhirRequest, ctx: RequestContext, deps: LifecycleDeps): Promise<FhirResponse> {
  return runOperation(OperationJobName.anonymize, '$anonymize', req, ctx, deps);
}

/**
 * Enqueues the operation's job (ids and the request's audit facts only), then, after the FHIR
 * asynchronous request pattern (https://hl7.org/fhir/R4/async.html): with `Prefer: respond-async`
 * answers 202 + `Content-Location: /fhir/$job/{jobId}` at once; otherwise waits for the job up to
 * `OPERATION_WAIT` and answers its result (200 + Patient, or the refusal's OperationOutcome), or
 * 202 + `Content-Location` when the wait runs out. The job writes this request's AuditEvent.
 */
async function runOperation(
  name: OperationJobName,
  interaction: string,
  req: FhirRequest,
  ctx: RequestContext,
  deps: LifecycleDeps,
): Promise<FhirResponse> {
  const patientId = assertFhirId(req.params.id);
  await assertTargetInCompartment(deps.store, ctx.actor, patientId);
  const jobs = queueOf(ctx, deps);
  const jobId = await jobs.enqueue(name, { patientId, requestedBy: ctx.actor.subject, audit: auditFactsOf(ctx, interaction) });
  if (req.headers.prefer.respondAsync) return accepted(jobId);
  const status = await jobs.wait(jobId, deps.operationWaitMs ?? DEFAULT_OPERATION_WAIT_MS);
  if (status?.state === 'done') {
    // the job recorded this request's AuditEvent (success or refusal): no second one
    if (status.result.status >= 400) throw markAudited(errorOf(status.result));
    return resultResponse(status.result, deps);
  }
  if (status?.state === 'failed' || !status) throw errors.internal();
  return accepted(jobId);
}

/**
 * `GET /fhir/$job/{jobId}` (role admin): 202 while the job is queued or running, then the
 * operation's result — 200 with the Patient version it wrote (re-read now: no PHI is kept with the
 * job), or the operation's OperationOutcome status. 404 for an unknown job.
 */
export async function jobStatusHandler(req: FhirRequest, ctx: RequestContext, deps: LifecycleDeps): Promise<FhirResponse> {
  const jobId = req.params.jobId ?? '';
  const status: JobStatus | undefined = await queueOf(ctx, deps).status(jobId);
  if (!status) throw errors.notFound('No such job');
  if (status.state === 'failed') throw errors.internal();
  if (status.state === 'pending') return accepted(jobId);
  if (status.result.status >= 400) throw errorOf(status.result);
  return resultResponse(status.result, deps);
}

function queueOf(ctx: RequestContext, deps: LifecycleDeps): JobQueue {
  return deps.jobs ?? new InlineJobQueue({ store: deps.store, clock: ctx.clock, uniqueContacts: deps.uniqueContacts });
}

function accepted(jobId: string): FhirResponse {
  return {
    status: 202,
    resource: informational('The operation is queued or running; poll Content-Location for its result'),
    headers: { 'Content-Location': `/fhir/$job/${jobId}`, 'Retry-After': '1' },
  };
}

async function resultResponse(result: JobResultRecord, deps: LifecycleDeps): Promise<FhirResponse> {
  const stored = result.versionId === undefined ? undefined : await deps.store.readVersion(result.patientId, result.versionId);
  if (!stored) throw errors.internal();
  return { status: 200, resource: stored.resource, version: versionOf(stored.resource) };
}

/** The refusal a job stored, as the error the operation would have thrown in the request. */
function errorOf(result: JobResultRecord): OperationOutcomeError {
  const code = (result.errorCode ?? ErrorCode.INTERNAL) as ErrorCode;
  const problem: Problem = {
    status: result.status,
    code,
    issueType: issueTypeOf(result.status, code),
    diagnostics: result.diagnostics ?? 'The operation failed',
  };
  return new OperationOutcomeError(problem);
}

function issueTypeOf(status: number, code: string): Problem['issueType'] {
  if (code === ErrorCode.DUPLICATE_IDENTIFIER || code === ErrorCode.DUPLICATE_CONTACT) return 'duplicate';
  if (status === 404) return 'not-found';
  if (status === 410) return 'deleted';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 503) return 'transient';
  return status < 500 ? 'invalid' : 'exception';
}
