import { ErrorCode, errors } from '../fhir/outcome.js';
import { PATIENT_DELETION_URL } from '../patient/extensions.js';
import type { PatientRecord, PatientStore } from '../store/port.js';
import { correlationHashes } from './correlation-hash.js';
import { LifecycleEventType, newEvent } from '../events/event-types.js';
import { deletionExtension, withOwnExtension, type DeletionInfo } from './lifecycle-extensions.js';
import { decide, lifecycleOf, readCurrent, writeLifecycleVersion } from './states.js';

export interface SoftDeleteInput {
  id: string;
  reason?: string;
  note?: string;
  /** Token subject of who asks (`requestedBy`). */
  requestedBy: string;
  now: Date;
  gracePeriodMs: number;
  uniqueContacts: boolean;
  /** Without it no correlation hash is stored. */
  correlationSecret?: string;
  /** `If-Match` version, when the client sent one (https://hl7.org/fhir/R4/http.html#concurrency). */
  expectedVersionId?: string;
}

export interface SoftDeleteResult {
  /** `false` when the patient was already deleted (idempotent repeat). */
  changed: boolean;
  resource: PatientRecord['resource'];
}

/**
 * Soft delete (SPEC §7; https://hl7.org/fhir/R4/http.html#delete): a new version in state
 * `soft-deleted` with the deletion extension (`graceExpiresAt = now + grace period`), unique keys
 * freed, correlation hashes stored and `identity.patient.soft_deleted` appended — in one
 * transaction. 404 unknown, 409 UNDER_INVESTIGATION when held, 412 on a stale `If-Match`; an
 * already deleted patient is left as it is.
 */
export async function softDeletePatient(store: PatientStore, input: SoftDeleteInput): Promise<SoftDeleteResult> {
  return store.transaction(async (tx) => {
    const current = await readCurrent(tx, input.id);
    if (decide('delete', lifecycleOf(current)) === 'noop') return { changed: false, resource: current.resource };
    if (input.expectedVersionId !== undefined && input.expectedVersionId !== current.resource.meta.versionId) {
      throw errors.preconditionFailed(ErrorCode.VERSION_CONFLICT, 'The patient is at another version than the one expected');
    }
    const info: DeletionInfo = {
      status: 'soft-deleted',
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(input.note !== undefined ? { note: input.note } : {}),
      requestedBy: input.requestedBy,
      softDeletedAt: input.now.toISOString(),
      graceExpiresAt: new Date(input.now.getTime() + input.gracePeriodMs).toISOString(),
    };
    const next = withOwnExtension(current.resource, PATIENT_DELETION_URL, deletionExtension(info));
    const resource = await writeLifecycleVersion(tx, current, next, 'soft-deleted', input);
    if (input.correlationSecret !== undefined) {
      await tx.setCorrelationHashes(input.id, correlationHashes(current.resource, input.correlationSecret));
    }
    await tx.appendEvents([
      newEvent(LifecycleEventType.softDeleted, input.id, input.now, {
        reason: input.reason ?? null,
        soft_deleted_at: info.softDeletedAt,
        grace_expires_at: info.graceExpiresAt,
        version_id: resource.meta.versionId,
      }),
    ]);
    return { changed: true, resource };
  });
}
