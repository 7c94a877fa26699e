import type { Patient } from 'fhir/r4.js';
import type { Actor } from '../context/actor.js';
import type { Condition } from '../fhir/search/types.js';
import { ErrorCode, errors } from '../fhir/outcome.js';
import { referenceKey } from '../patient/search-index.js';

/** The parts of a Patient a compartment decision reads. */
export type CompartmentSubject = Pick<Patient, 'id' | 'generalPractitioner'>;

/** Whether the actor is confined to a compartment at all. */
export function isCompartmentBound(actor: Actor): boolean {
  return actor.patient !== undefined || actor.practitioner !== undefined;
}

/**
 * Search conditions that confine a search to the actor's compartment, added to
 * `SearchRequest.where` (AND): the patient itself for a patient-context token, the patients whose
 * `generalPractitioner` references the practitioner for a practitioner token. Empty when unbound.
 * https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
export function compartmentConditions(actor: Actor): Condition[] {
  const conditions: Condition[] = [];
  if (actor.patient !== undefined) {
    conditions.push({ kind: 'entry', param: '_id', tests: [{ field: 'code', op: 'eq', value: actor.patient }] });
  }
  if (actor.practitioner !== undefined) {
    conditions.push({
      kind: 'entry',
      param: 'general-practitioner',
      tests: [{ field: 'ref', op: 'eq', value: `Practitioner/${actor.practitioner}` }],
    });
  }
  return conditions;
}

/** Whether the token is confined to a compartment (a patient context, or a practitioner's patients). */
export function isConfined(actor: Actor): boolean {
  return actor.patient !== undefined || actor.practitioner !== undefined;
}

/** Whether a Patient lies in the actor's compartment (always true for an unbound actor). */
export function isInCompartment(actor: Actor, patient: CompartmentSubject): boolean {
  if (actor.patient !== undefined && patient.id !== actor.patient) return false;
  if (actor.practitioner !== undefined) {
    const wanted = `Practitioner/${actor.practitioner}`;
    const refs = patient.generalPractitioner ?? [];
    if (!refs.some((r) => typeof r.reference === 'string' && referenceKey(r.reference) === wanted)) return false;
  }
  return true;
}

/**
 * For read, vread, history, update, patch, delete: a stored Patient outside the actor's compartment
 * answers 404 `NOT_FOUND`, exactly like a patient that never existed, so a token learns nothing
 * about records it may not see. Call it before deciding 410 for a deleted record.
 */
export function assertPatientInCompartment(actor: Actor, patient: CompartmentSubject): void {
  if (!isInCompartment(actor, patient)) throw errors.notFound();
}

/**
 * For create and update bodies: the Patient as written must stay in the actor's compartment (a
 * practitioner token cannot create or hand over a patient it would not be the practitioner of).
 * 403 `FORBIDDEN`: the client sent this content, so nothing leaks.
 */
export function assertWritableInCompartment(actor: Actor, patient: CompartmentSubject): void {
  if (!isInCompartment(actor, patient)) {
    throw errors.forbidden(ErrorCode.FORBIDDEN, 'The Patient as written would fall outside the compartment of this token');
  }
}
