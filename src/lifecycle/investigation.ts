import { PATIENT_INVESTIGATION_URL } from '../patient/extensions.js';
import type { PatientRecord, PatientStore } from '../store/port.js';
import { LifecycleEventType, newEvent } from '../events/event-types.js';
import { investigationExtension, withOwnExtension } from './lifecycle-extensions.js';
import { decide, lifecycleOf, readCurrent, writeLifecycleVersion } from './states.js';

interface InvestigationInput {
  id: string;
  now: Date;
  /** Token subject of who acts (`startedBy`). */
  actor: string;
  uniqueContacts: boolean;
}

/**
 * `$investigation-start` (SPEC §7): puts an investigation hold on an active or soft-deleted
 * patient (a new version in the same state with the investigation extension, `active = true`),
 * appends `identity.patient.investigation_started`. 404 unknown, 410 anonymized, 409
 * UNDER_INVESTIGATION when already held. The notes never leave the resource (not in the event).
 */
export async function startInvestigation(
  store: PatientStore,
  input: InvestigationInput & { notes?: string },
): Promise<PatientRecord['resource']> {
  const hold = investigationExtension({
    active: true,
    ...(input.notes !== undefined ? { notes: input.notes } : {}),
    startedAt: input.now.toISOString(),
    startedBy: input.actor,
  });
  return setHold(store, input, 'investigation-start', LifecycleEventType.investigationStarted, hold);
}

/**
 * `$investigation-end` (SPEC §7): lifts the hold — the investigation extension (and its notes) is
 * removed in a new version — and appends `identity.patient.investigation_ended`. 404 unknown, 409
 * NOT_UNDER_INVESTIGATION when not held. A soft-deleted patient whose grace period has passed is
 * then anonymized by the next sweep.
 */
export async function endInvestigation(store: PatientStore, input: InvestigationInput): Promise<PatientRecord['resource']> {
  return setHold(store, input, 'investigation-end', LifecycleEventType.investigationEnded, undefined);
}

/**
 * Both operations in one transaction: the state machine decides (`action`), a new version in the
 * same state carries `extension` (none: the extension is removed), and the event reports the state
 * and version — never the notes.
 */
function setHold(
  store: PatientStore,
  input: InvestigationInput,
  action: 'investigation-start' | 'investigation-end',
  eventType: LifecycleEventType,
  extension: ReturnType<typeof investigationExtension> | undefined,
): Promise<PatientRecord['resource']> {
  return store.transaction(async (tx) => {
    const current = await readCurrent(tx, input.id);
    decide(action, lifecycleOf(current));
    const next = withOwnExtension(current.resource, PATIENT_INVESTIGATION_URL, extension);
    const resource = await writeLifecycleVersion(tx, current, next, current.state, input);
    await tx.appendEvents([
      newEvent(eventType, input.id, input.now, { state: current.state, version_id: resource.meta.versionId }),
    ]);
    return resource;
  });
}
