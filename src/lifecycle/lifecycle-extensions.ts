import type { Extension, Patient } from 'fhir/r4.js';
import { PATIENT_DELETION_URL, PATIENT_INVESTIGATION_URL } from '../patient/extensions.js';

/**
 * Reading and writing the server's two lifecycle extensions on a Patient (SPEC §7), both complex
 * extensions (https://hl7.org/fhir/R4/extensibility.html#complex): `patient-deletion` and
 * `patient-investigation`. Pure functions; a Patient is never changed in place.
 */

/** Codes of `…/CodeSystem/deletion-reason` (profiles/CodeSystem-deletion-reason.json). */
export const DELETION_REASONS = [
  'user-request',
  'gdpr-erasure',
  'admin-action',
  'prolonged-inactivity',
  'duplicate-account',
  'deceased',
  'other',
] as const;
export type DeletionReason = (typeof DELETION_REASONS)[number];

/** Longest `note` (deletion) and `notes` (investigation): SPEC §7. */
export const MAX_NOTE_LENGTH = 1000;

/** Content of the `patient-deletion` extension. */
export interface DeletionInfo {
  status: 'soft-deleted' | 'anonymized';
  reason?: string;
  note?: string;
  requestedBy?: string;
  softDeletedAt: string;
  graceExpiresAt: string;
  anonymizedAt?: string;
}

/** Content of the `patient-investigation` extension. */
export interface InvestigationInfo {
  active: boolean;
  notes?: string;
  startedAt?: string;
  startedBy?: string;
}

function sub(extension: Extension | undefined, url: string): Extension | undefined {
  return extension?.extension?.find((e) => e.url === url);
}

function own(patient: Patient, url: string): Extension | undefined {
  return patient.extension?.find((e) => e.url === url);
}

/** The deletion extension's content, or `undefined` when the patient carries none. */
export function deletionInfo(patient: Patient): DeletionInfo | undefined {
  const ext = own(patient, PATIENT_DELETION_URL);
  if (!ext) return undefined;
  const status = sub(ext, 'status')?.valueCode;
  const info: DeletionInfo = {
    status: status === 'anonymized' ? 'anonymized' : 'soft-deleted',
    softDeletedAt: sub(ext, 'softDeletedAt')?.valueInstant ?? '',
    graceExpiresAt: sub(ext, 'graceExpiresAt')?.valueInstant ?? '',
  };
  const reason = sub(ext, 'reason')?.valueCode;
  const note = sub(ext, 'note')?.valueString;
  const requestedBy = sub(ext, 'requestedBy')?.valueString;
  const anonymizedAt = sub(ext, 'anonymizedAt')?.valueInstant;
  if (reason !== undefined) info.reason = reason;
  if (note !== undefined) info.note = note;
  if (requestedBy !== undefined) info.requestedBy = requestedBy;
  if (anonymizedAt !== undefined) info.anonymizedAt = anonymizedAt;
  return info;
}

/** The investigation extension's content, or `undefined`. */
export function investigationInfo(patient: Patient): InvestigationInfo | undefined {
  const ext = own(patient, PATIENT_INVESTIGATION_URL);
  if (!ext) return undefined;
  const info: InvestigationInfo = { active: sub(ext, 'active')?.valueBoolean === true };
  const notes = sub(ext, 'notes')?.valueString;
  const startedAt = sub(ext, 'startedAt')?.valueInstant;
  const startedBy = sub(ext, 'startedBy')?.valueString;
  if (notes !== undefined) info.notes = notes;
  if (startedAt !== undefined) info.startedAt = startedAt;
  if (startedBy !== undefined) info.startedBy = startedBy;
  return info;
}

/** Whether an investigation hold is on (the investigation extension with `active = true`). */
export function isHeld(patient: Patient): boolean {
  return investigationInfo(patient)?.active === true;
}

/** The deletion extension for `info` (sub-extensions in the order of the StructureDefinition). */
export function deletionExtension(info: DeletionInfo): Extension {
  const parts: Extension[] = [{ url: 'status', valueCode: info.status }];
  if (info.reason !== undefined) parts.push({ url: 'reason', valueCode: info.reason });
  if (info.note !== undefined) parts.push({ url: 'note', valueString: info.note });
  if (info.requestedBy !== undefined) parts.push({ url: 'requestedBy', valueString: info.requestedBy });
  parts.push({ url: 'softDeletedAt', valueInstant: info.softDeletedAt });
  parts.push({ url: 'graceExpiresAt', valueInstant: info.graceExpiresAt });
  if (info.anonymizedAt !== undefined) parts.push({ url: 'anonymizedAt', valueInstant: info.anonymizedAt });
  return { url: PATIENT_DELETION_URL, extension: parts };
}

/** The investigation extension for `info`. */
export function investigationExtension(info: InvestigationInfo): Extension {
  const parts: Extension[] = [{ url: 'active', valueBoolean: info.active }];
  if (info.notes !== undefined) parts.push({ url: 'notes', valueString: info.notes });
  if (info.startedAt !== undefined) parts.push({ url: 'startedAt', valueInstant: info.startedAt });
  if (info.startedBy !== undefined) parts.push({ url: 'startedBy', valueString: info.startedBy });
  return { url: PATIENT_INVESTIGATION_URL, extension: parts };
}

/** A copy of `patient` with the extension of `url` replaced by `extension` (or removed when `undefined`). */
export function withOwnExtension(patient: Patient, url: string, extension: Extension | undefined): Patient {
  const others = (patient.extension ?? []).filter((e) => e.url !== url);
  const all = extension ? [...others, extension] : others;
  const { extension: _old, ...rest } = patient;
  return all.length > 0 ? { ...rest, extension: all } : rest;
}
