import type { Agenda, Job } from 'agenda';
import type { Clock } from '../context/clock.js';
import type { Logger } from '../observability/logger.js';
import type { PatientStore } from '../store/port.js';
import { runAnonymizationSweep } from '../lifecycle/sweep.js';
import { OperationJobName, runOperationJob, type OperationJobData } from './operation-jobs.js';

/** Job names, stable: they are stored in the jobs table/collection. */
export const JobName = {
  anonymizationSweep: 'anonymization-sweep',
  auditRetention: 'audit-retention',
  patientRestore: OperationJobName.restore,
  patientAnonymize: OperationJobName.anonymize,
} as const;

/**
 * The job definitions, as plain async functions over the store. The operation jobs are idempotent
 * (a job with a stored result does nothing on a rerun). The sweep is idempotent and safe
 * with several processes (each patient is a compare-and-set), so a rerun after a crash finishes the work.
 */
export function defineLifecycleJobs(
  agenda: Agenda,
  deps: { store: PatientStore; clock: Clock; logger: Logger; auditRetentionMs: number; uniqueContacts?: boolean },
): void {
  // `$restore` / `$anonymize`: the change, its event, the request's AuditEvent and the result in one transaction.
  const operationDeps = { store: deps.store, clock: deps.clock, uniqueContacts: deps.uniqueContacts ?? true };
  for (const name of [OperationJobName.restore, OperationJobName.anonymize]) {
    agenda.define(name, async (job: Job<OperationJobData>) => {
      const result = await runOperationJob(operationDeps, name, String(job.attrs._id), job.attrs.data);
      deps.logger.info('operation job finished', { job: name, status: result.status });
    });
  }
  agenda.define(JobName.anonymizationSweep, async () => {
    const result = await runAnonymizationSweep(deps.store, { now: deps.clock.now() });
    deps.logger.info('anonymization sweep finished', { anonymized: result.anonymized, skipped: result.skipped });
  });
  // AuditEvents are kept at least AUDIT_RETENTION; only older ones are purged (the chain stays anchored).
  agenda.define(JobName.auditRetention, async () => {
    const purged = await deps.store.audit.purgeBefore(deps.clock.now().getTime() - deps.auditRetentionMs);
    deps.logger.info('audit retention applied', { purged });
  });
}
