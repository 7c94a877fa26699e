import { PATIENT_DELETION_URL } from '../patient/extensions.js';
import type { PatientRecord, PatientStore } from '../store/port.js';
import { LifecycleEventType, newEvent } from '../events/event-types.js';
import { withOwnExtension } from './lifecycle-extensions.js';
import { decide, lifecycleOf, readCurrent, writeLifecycleVersion } from './states.js';

/**
 * `$restore` (SPEC §7): a soft-deleted patient becomes active again — a new version without the
 * deletion extension (an investigation hold stays), its identifiers and contacts re-claimed (409
 * DUPLICATE_IDENTIFIER / DUPLICATE_CONTACT when another patient took one meanwhile), correlation
 * hashes cleared, `identity.patient.restored` appended. 404 unknown, 409 NOT_DELETED when active,
 * 409 ALREADY_ANONYMIZED. Racing the sweep, exactly one of the two wins (both write with a
 * compare-and-set on the version inside a transaction).
 */
export async function restorePatient(
  store: PatientStore,
  input: { id: string; now: Date; uniqueContacts: boolean; requestedBy: string },
): Promise<PatientRecord['resource']> {
  return store.transaction(async (tx) => {
    const current = await readCurrent(tx, input.id);
    decide('restore', lifecycleOf(current));
    const next = withOwnExtension(current.resource, PATIENT_DELETION_URL, undefined);
    const resource = await writeLifecycleVersion(tx, current, next, 'active', input);
    await tx.setCorrelationHashes(input.id, []);
    await tx.appendEvents([
      newEvent(LifecycleEventType.restored, input.id, input.now, {
        version_id: resource.meta.versionId,
      }),
    ]);
    return resource;
  });
}
