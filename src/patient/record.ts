import type { Patient } from 'fhir/r4.js';
import type { PatientRecord, PatientState, UniqueKey } from '../store/port.js';
import { extractIndexEntries, extractSortKeys } from './search-index.js';
import { contactKeys } from './validation/normalize-contacts.js';

export interface RecordOptions {
  /** Emails and phones are unique among non-deleted patients (`UNIQUE_CONTACTS`). */
  uniqueContacts: boolean;
}

/**
 * Builds everything the store keeps for one version of a Patient: search values, unique keys (only
 * while active — a soft-deleted patient frees its identifiers and contacts) and sort keys.
 */
export function buildPatientRecord(resource: PatientRecord['resource'], state: PatientState, options: RecordOptions): PatientRecord {
  return {
    resource,
    state,
    index: extractIndexEntries(resource),
    uniqueKeys: state === 'active' ? uniqueKeysOf(resource, options) : [],
    sort: extractSortKeys(resource),
  };
}

/** Identifier (system|value) always; normalized emails and E.164 phones when contacts are unique. */
export function uniqueKeysOf(patient: Patient, options: RecordOptions): UniqueKey[] {
  const keys = new Map<string, UniqueKey>();
  for (const identifier of patient.identifier ?? []) {
    if (identifier.value === undefined) continue;
    const value = `${identifier.system ?? ''}|${identifier.value}`;
    keys.set(`identifier|${value}`, { kind: 'identifier', value });
  }
  if (options.uniqueContacts) {
    const { emails, phones } = contactKeys(patient);
    for (const value of emails) keys.set(`email|${value}`, { kind: 'email', value });
    for (const value of phones) keys.set(`phone|${value}`, { kind: 'phone', value });
  }
  return [...keys.values()];
}
