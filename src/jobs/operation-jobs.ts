import { randomUUID } from 'node:crypto';
import type { Clock } from '../context/clock.js';
import type { Actor } from '../context/actor.js';
import type { RequestContext } from '../context/request-context.js';
import type { PatientStore } from '../store/port.js';
import { errors, isOperationOutcomeError, type OperationOutcomeError } from '../fhir/outcome.js';
import { buildAuditEvent } from '../audit/build-audit-event.js';
import { restorePatient } from '../lifecycle/restore.js';
import { anonymizeNow } from '../lifecycle/anonymize.js';
import { getJobResult, putJobResult, type JobResultRecord } from './job-results.js';

/** Names of the operation jobs (stable: they are stored in the jobs table/collection). */
export const OperationJobName = {
  restore: 'patient-restore',
  anonymize: 'patient-anonymize',
} as const;
export type OperationJobName = (typeof OperationJobName)[keyof typeof OperationJobName];

/**
 * The facts of the HTTP request an operation job serves, so the job can write that request's one
 * AuditEvent in its own transaction. Ids, roles, addresses: no PHI, no token.
 */
export interface RequestAuditFacts {
  /** Route interaction, `$restore` or `$anonymize`. */
  interaction: string;
  subject: string;
  fhirUser?: string;
  clientId?: string;
  roles: string[];
  clientIp: string;
  userAgent?: string;
  requestId: string;
  /** FHIR base URL the client used. */
  serverUrl: string;
}

/** What an operation job is given: ids only. */
export interface OperationJobData {
  patientId: string;
  /** Token subject of who asked (the restore's `requestedBy`, the anonymization's actor). */
  requestedBy: string;
  audit: RequestAuditFacts;
}

/** The audit facts of a request, for {@link OperationJobData}. */
export function auditFactsOf(ctx: RequestContext, interaction: string): RequestAuditFacts {
  const { actor } = ctx;
  return {
    interaction,
    subject: actor.subject,
    ...(actor.fhirUser !== undefined ? { fhirUser: actor.fhirUser } : {}),
    ...(actor.clientId !== undefined ? { clientId: actor.clientId } : {}),
    roles: [...actor.roles],
    clientIp: ctx.clientIp,
    ...(ctx.userAgent !== undefined ? { userAgent: ctx.userAgent.slice(0, 256) } : {}),
    requestId: ctx.requestId,
    serverUrl: ctx.baseUrl,
  };
}

export interface OperationJobDeps {
  store: PatientStore;
  clock: Clock;
  uniqueContacts: boolean;
}

/**
 * Runs one operation job (`patient-restore` / `patient-anonymize`): the state change, its outbox
 * event, the request's AuditEvent and the job result commit in ONE transaction. A refusal (404,
 * 409 …) rolls the change back and then commits the AuditEvent of the refused request with the
 * result. Idempotent: a job that already has a result (rerun after a crash) does nothing.
 */
export async function runOperationJob(deps: OperationJobDeps, name: OperationJobName, jobId: string, data: OperationJobData): Promise<JobResultRecord> {
  const done = await getJobResult(deps.store, jobId);
  if (done) return done;
  const { patientId, requestedBy } = data;
  try {
    return await deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const resource =
        name === OperationJobName.restore
          ? await restorePatient(tx, { id: patientId, now, uniqueContacts: deps.uniqueContacts, requestedBy })
          : await anonymizeNow(tx, { id: patientId, now, actor: requestedBy });
      const result: JobResultRecord = { jobId, status: 200, patientId, versionId: resource.meta.versionId, finishedAt: now.toISOString() };
      await appendAudit(tx, data.audit, now, 200, [`Patient/${patientId}/_history/${resource.meta.versionId}`]);
      await putJobResult(tx, result);
      return result;
    });
  } catch (err) {
    const error: OperationOutcomeError = isOperationOutcomeError(err) ? err : errors.internal();
    return deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const result: JobResultRecord = {
        jobId,
        status: error.status,
        patientId,
        errorCode: error.code,
        diagnostics: error.issues[0]?.diagnostics ?? '',
        finishedAt: now.toISOString(),
      };
      await appendAudit(tx, data.audit, now, error.status, [`Patient/${patientId}`], error.code);
      await putJobResult(tx, result);
      return result;
    });
  }
}

async function appendAudit(
  tx: PatientStore,
  facts: RequestAuditFacts,
  now: Date,
  status: number,
  entities: string[],
  errorCode?: string,
): Promise<void> {
  const actor: Actor = {
    subject: facts.subject,
    ...(facts.fhirUser !== undefined ? { fhirUser: facts.fhirUser } : {}),
    ...(facts.clientId !== undefined ? { clientId: facts.clientId } : {}),
    roles: facts.roles,
    scopes: [],
  };
  await tx.audit.append(
    buildAuditEvent({
      id: randomUUID(),
      recorded: now,
      interaction: facts.interaction,
      status,
      ...(errorCode !== undefined ? { errorCode } : {}),
      actor,
      requestId: facts.requestId,
      clientIp: facts.clientIp,
      ...(facts.userAgent !== undefined ? { userAgent: facts.userAgent } : {}),
      serverUrl: facts.serverUrl,
      entities,
    }),
  );
}
