import type { Patient } from 'fhir/r4.js';
import { ErrorCode, errors } from '../fhir/outcome.js';
import { buildPatientRecord } from '../patient/record.js';
import type { DeletionIndexEntry, PatientRecord, PatientState, PatientStore, StoredPatient } from '../store/port.js';
import { deletionInfo, isHeld } from './lifecycle-extensions.js';

/**
 * The deletion state machine (SPEC §7): `active` → `soft-deleted` → `anonymized` (terminal), with
 * an investigation hold orthogonal to it. Which action is allowed in which state is decided here
 * once; the operations only carry the decision out.
 */
export type LifecycleAction = 'delete' | 'restore' | 'anonymize' | 'sweep' | 'investigation-start' | 'investigation-end';

/** Where a patient is in the lifecycle. */
export interface Lifecycle {
  state: PatientState;
  held: boolean;
}

export function lifecycleOf(stored: StoredPatient): Lifecycle {
  return { state: stored.state, held: isHeld(stored.resource) };
}

/** What an allowed action does: `apply` a change, or `noop` (idempotent repeat, or a sweep skip). */
export type Decision = 'apply' | 'noop';

/**
 * Decides `action` in `lifecycle`: `apply`, `noop`, or throws the refusal (409/410).
 * - delete: already deleted → noop (idempotent, https://hl7.org/fhir/R4/http.html#delete); held → 409.
 * - restore: only soft-deleted (held or not).
 * - anonymize: only soft-deleted and not held. sweep: the same, but never throws (noop).
 * - investigation-start: active or soft-deleted, not already held; anonymized → 410.
 * - investigation-end: only when held.
 */
export function decide(action: LifecycleAction, { state, held }: Lifecycle): Decision {
  switch (action) {
    case 'delete':
      if (state !== 'active') return 'noop';
      if (held) throw underInvestigation();
      return 'apply';
    case 'restore':
      if (state === 'anonymized') throw errors.conflict(ErrorCode.ALREADY_ANONYMIZED, 'The patient has been anonymized');
      if (state === 'active') throw notDeleted();
      return 'apply';
    case 'anonymize':
      if (state === 'anonymized') throw errors.conflict(ErrorCode.ALREADY_ANONYMIZED, 'The patient has been anonymized');
      if (state === 'active') throw notDeleted();
      if (held) throw underInvestigation();
      return 'apply';
    case 'sweep':
      return state === 'soft-deleted' && !held ? 'apply' : 'noop';
    case 'investigation-start':
      if (state === 'anonymized') throw errors.gone('The patient has been anonymized');
      if (held) throw errors.conflict(ErrorCode.UNDER_INVESTIGATION, 'The patient is already under investigation');
      return 'apply';
    case 'investigation-end':
      if (!held) throw errors.conflict(ErrorCode.NOT_UNDER_INVESTIGATION, 'The patient is not under investigation');
      return 'apply';
  }
}

function underInvestigation() {
  return errors.conflict(ErrorCode.UNDER_INVESTIGATION, 'The patient is under an investigation hold');
}

function notDeleted() {
  return errors.conflict(ErrorCode.NOT_DELETED, 'The patient is not deleted');
}

/** Reads the current version inside `tx`, or throws 404. */
export async function readCurrent(tx: PatientStore, id: string): Promise<StoredPatient & { resource: PatientRecord['resource'] }> {
  const stored = await tx.read(id);
  if (!stored) throw errors.notFound();
  return stored as StoredPatient & { resource: PatientRecord['resource'] };
}

/** The lifecycle index row of a version (`undefined` while active). */
export function deletionIndexOf(resource: Patient, state: PatientState): DeletionIndexEntry | undefined {
  if (state === 'active') return undefined;
  const info = deletionInfo(resource);
  if (!info) throw errors.internal();
  return { status: state, held: isHeld(resource), softDeletedAt: info.softDeletedAt, graceExpiresAt: info.graceExpiresAt };
}

/**
 * Writes `next` as the version after `current` with `state`: a compare-and-set on the current
 * versionId (412 when someone else wrote first), unique keys claimed while active (409
 * DUPLICATE_*), and the lifecycle index row kept in step. Call inside a transaction.
 */
export async function writeLifecycleVersion(
  tx: PatientStore,
  current: StoredPatient,
  next: Patient,
  state: PatientState,
  options: { uniqueContacts: boolean; now: Date },
): Promise<PatientRecord['resource']> {
  const id = current.resource.id;
  const versionId = current.resource.meta?.versionId;
  if (!id || !versionId) throw errors.internal();
  const resource: PatientRecord['resource'] = {
    ...next,
    id,
    meta: { ...next.meta, versionId: String(Number(versionId) + 1), lastUpdated: options.now.toISOString() },
  };
  await tx.update(buildPatientRecord(resource, state, options), versionId);
  await tx.setDeletionIndex(id, deletionIndexOf(resource, state));
  return resource;
}
