import { randomUUID } from 'node:crypto';
import type { LifecycleEvent } from '../store/port.js';

/** Types of the lifecycle events (SPEC §7) this folder emits into the outbox. */
export const LifecycleEventType = {
  softDeleted: 'identity.patient.soft_deleted',
  restored: 'identity.patient.restored',
  anonymized: 'identity.patient.anonymized',
  investigationStarted: 'identity.patient.investigation_started',
  investigationEnded: 'identity.patient.investigation_ended',
  returningUser: 'identity.patient.returning_user',
} as const;
export type LifecycleEventType = (typeof LifecycleEventType)[keyof typeof LifecycleEventType];

/**
 * One outbox event. `data` carries ids, codes and instants only — never PHI (no names, emails,
 * phones, notes). Appended with `tx.appendEvents` in the transaction of the change it reports.
 */
export function lifecycleEvent(
  type: LifecycleEventType,
  patientId: string,
  occurredAt: Date,
  data: LifecycleEvent['data'] = {},
): LifecycleEvent {
  return { id: randomUUID(), type, patientId, occurredAt: occurredAt.toISOString(), data };
}
