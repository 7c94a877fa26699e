import { readFileSync } from 'node:fs';
import type { Patient } from 'fhir/r4.js';
import type { IndexEntry, PatientRecord, PatientState, UniqueKey } from '../../src/store/port.js';

const PATIENTS_FILE = new URL('../../../shared/data/synthea-r4/patients.json', import.meta.url);

let cache: Patient[] | undefined;

/** The 300 synthetic patients of `/work/shared/data` (no id, no meta). Fresh copies on every call. */
export function samplePatients(): Patient[] {
  cache ??= JSON.parse(readFileSync(PATIENTS_FILE, 'utf8')) as Patient[];
  return structuredClone(cache);
}

/** One sample patient by position (wraps around). */
export function samplePatient(n: number): Patient {
  const all = samplePatients();
  return all[n % all.length]!;
}

export interface RecordOptions {
  id: string;
  versionId?: number;
  lastUpdated?: string;
  state?: PatientState;
  /** Overrides the keys derived from the resource (identifiers, emails, phones). */
  uniqueKeys?: UniqueKey[];
}

/**
 * A `PatientRecord` for a store test: meta set, unique keys derived from `identifier` and
 * `telecom` (none unless active), and a few index entries and sort keys — a simplified stand-in for
 * the real extraction in `src/patient/`, enough to exercise the engines.
 */
export function buildRecord(patient: Patient, options: RecordOptions): PatientRecord {
  const state = options.state ?? 'active';
  const versionId = String(options.versionId ?? 1);
  const lastUpdated = options.lastUpdated ?? new Date().toISOString();
  const resource = { ...structuredClone(patient), id: options.id, meta: { versionId, lastUpdated } };
  const family = patient.name?.[0]?.family;
  const given = patient.name?.[0]?.given?.[0];
  const birth = patient.birthDate ? birthRange(patient.birthDate) : undefined;
  return {
    resource,
    state,
    index: indexEntries(resource, birth),
    uniqueKeys: options.uniqueKeys ?? (state === 'active' ? uniqueKeysOf(patient) : []),
    sort: {
      ...(family ? { family: fold(family) } : {}),
      ...(given ? { given: fold(given) } : {}),
      ...(birth ? { birthdate: birth.low } : {}),
      ...(patient.gender ? { gender: patient.gender } : {}),
    },
  };
}

/** The next version of `record`: versionId + 1, with the given changes applied. */
export function nextVersion(
  record: PatientRecord,
  changes: { patient?: Patient; lastUpdated?: string; state?: PatientState; uniqueKeys?: UniqueKey[] } = {},
): PatientRecord {
  const { id: _id, meta, ...current } = record.resource;
  return buildRecord(changes.patient ?? current, {
    id: record.resource.id,
    versionId: Number(meta.versionId) + 1,
    lastUpdated: changes.lastUpdated ?? new Date(Date.parse(meta.lastUpdated) + 1000).toISOString(),
    state: changes.state ?? record.state,
    ...(changes.uniqueKeys ? { uniqueKeys: changes.uniqueKeys } : {}),
  });
}

/** Identifier, email and phone claims of a patient, as the write path computes them. */
export function uniqueKeysOf(patient: Patient): UniqueKey[] {
  const keys: UniqueKey[] = [];
  for (const id of patient.identifier ?? []) {
    if (id.value) keys.push({ kind: 'identifier', value: `${id.system ?? ''}|${id.value}` });
  }
  for (const t of patient.telecom ?? []) {
    if (t.system === 'email' && t.value) keys.push({ kind: 'email', value: t.value.toLowerCase() });
    if (t.system === 'phone' && t.value) keys.push({ kind: 'phone', value: t.value });
  }
  return keys;
}

function indexEntries(resource: Patient & { id: string }, birth?: { low: number; high: number }): IndexEntry[] {
  const entries: IndexEntry[] = [{ param: '_id', system: '', code: resource.id }];
  for (const name of resource.name ?? []) {
    if (name.family) entries.push({ param: 'family', text: fold(name.family), exact: name.family });
    for (const given of name.given ?? []) entries.push({ param: 'given', text: fold(given), exact: given });
  }
  for (const id of resource.identifier ?? []) {
    if (id.value) entries.push({ param: 'identifier', system: id.system ?? '', code: id.value });
  }
  if (resource.gender) entries.push({ param: 'gender', system: '', code: resource.gender });
  if (birth) entries.push({ param: 'birthdate', ...birth });
  return entries;
}

/** `YYYY`, `YYYY-MM` or `YYYY-MM-DD` as the UTC period it covers, high exclusive. */
function birthRange(date: string): { low: number; high: number } {
  const [y, m, d] = date.split('-').map(Number) as [number, number?, number?];
  const low = Date.UTC(y, (m ?? 1) - 1, d ?? 1);
  const high = d ? Date.UTC(y, m! - 1, d + 1) : m ? Date.UTC(y, m, 1) : Date.UTC(y + 1, 0, 1);
  return { low, high };
}

function fold(value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}
