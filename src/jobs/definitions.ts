import type { Agenda } from 'agenda';
import type { Clock } from '../context/clock.js';
import type { Logger } from '../observability/logger.js';
import type { PatientStore } from '../store/port.js';
import { runAnonymizationSweep } from '../lifecycle/sweep.js';

/** Job names, stable: they are stored in the jobs table/collection. */
export const JobName = {
  anonymizationSweep: 'anonymization-sweep',
  auditRetention: 'audit-retention',
} as const;

/**
 * The job definitions, as plain async functions over the store. The sweep is idempotent and safe
 * with several processes (each patient is a compare-and-set), so a rerun after a crash finishes the work.
 */
export function defineLifecycleJobs(
  agenda: Agenda,
  deps: { store: PatientStore; clock: Clock; logger: Logger; auditRetentionMs: number },
): void {
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
