import type { Meta, Patient } from 'fhir/r4.js';
import { errors } from '../fhir/outcome.js';
import type { PatientRecord, PatientStore, StoredPatient } from '../store/port.js';
import { LifecycleEventType, newEvent } from '../events/event-types.js';
import { deletionExtension, deletionInfo, type DeletionInfo } from './lifecycle-extensions.js';
import { decide, lifecycleOf, readCurrent, writeLifecycleVersion } from './states.js';

/** HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(C)): ages over 89 are not kept, not even as a year. */
const MAX_KEPT_AGE = 89;
const HISTORY_PAGE = 1000;

/**
 * The anonymized form of a Patient (SPEC §7), irreversible. An allow-list, so an element added to
 * FHIR later cannot leak: only `id`, `meta.versionId`/`lastUpdated`, `gender`, `birthDate` reduced
 * to the year (none when the patient may be older than 89) and the deletion extension (status
 * `anonymized`, `anonymizedAt`, without the free-text `note`) remain. Everything else —
 * `name`, `telecom`, `address`, `identifier`, `photo`, `contact`, `link`, `text`, every other
 * extension, the investigation notes, `deceased[x]`, `multipleBirth[x]`, references — is dropped.
 */
export function anonymizePatient(resource: Patient, now: Date): Patient {
  const previous = deletionInfo(resource);
  const info: DeletionInfo = {
    ...withoutNote(previous),
    status: 'anonymized',
    softDeletedAt: previous?.softDeletedAt || now.toISOString(),
    graceExpiresAt: previous?.graceExpiresAt || now.toISOString(),
    anonymizedAt: now.toISOString(),
  };
  return { ...scrubbed(resource, now), extension: [deletionExtension(info)] };
}

/**
 * The anonymized form of an older history version: the same allow-list, keeping its deletion
 * extension as it was then (without the note) so history still shows when it was deleted.
 */
export function anonymizeHistoricVersion(resource: Patient, now: Date): Patient {
  const info = deletionInfo(resource);
  const base = scrubbed(resource, now);
  return info ? { ...base, extension: [deletionExtension(withoutNote(info)!)] } : base;
}

function withoutNote(info: DeletionInfo | undefined): DeletionInfo | undefined {
  if (!info) return undefined;
  const { note: _note, ...rest } = info;
  return rest;
}

function scrubbed(resource: Patient, now: Date): Patient {
  const out: Patient = { resourceType: 'Patient' };
  if (resource.id !== undefined) out.id = resource.id;
  const meta: Meta = {};
  if (resource.meta?.versionId !== undefined) meta.versionId = resource.meta.versionId;
  if (resource.meta?.lastUpdated !== undefined) meta.lastUpdated = resource.meta.lastUpdated;
  if (Object.keys(meta).length > 0) out.meta = meta;
  if (resource.gender !== undefined) out.gender = resource.gender;
  const year = birthYearKept(resource.birthDate, now);
  if (year !== undefined) out.birthDate = year;
  return out;
}

/** The year of `birthDate`, or `undefined` when absent or when the patient may be older than 89. */
export function birthYearKept(birthDate: string | undefined, now: Date): string | undefined {
  const m = birthDate === undefined ? null : /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!m) return undefined;
  const year = Number(m[1]);
  // With a partial date, assume the oldest possible age (January 1st of the year / 1st of the month).
  const month = m[2] === undefined ? 1 : Number(m[2]);
  const day = m[3] === undefined ? 1 : Number(m[3]);
  const y = now.getUTCFullYear();
  const hadBirthday = now.getUTCMonth() + 1 > month || (now.getUTCMonth() + 1 === month && now.getUTCDate() >= day);
  const age = y - year - (hadBirthday ? 0 : 1);
  return age > MAX_KEPT_AGE ? undefined : m[1];
}

/**
 * Anonymizes one patient inside `tx` (SPEC §7): writes the anonymized version (state `anonymized`,
 * compare-and-set on the version), replaces every older history version by its anonymized form,
 * purges idempotency records and search values, keeps the correlation hashes, appends
 * `identity.patient.anonymized`.
 * - `operation` (`$anonymize`): 409 NOT_DELETED / ALREADY_ANONYMIZED / UNDER_INVESTIGATION.
 * - `sweep`: skips (returns `undefined`) unless soft-deleted, not held and past `graceExpiresAt`.
 */
export async function anonymizeInTransaction(
  tx: PatientStore,
  input: { id: string; now: Date; trigger: 'operation' | 'sweep'; actor: string },
): Promise<PatientRecord['resource'] | undefined> {
  const current = await readCurrent(tx, input.id);
  if (input.trigger === 'sweep') {
    if (decide('sweep', lifecycleOf(current)) === 'noop') return undefined;
    const expires = Date.parse(deletionInfo(current.resource)?.graceExpiresAt ?? '');
    if (!(expires <= input.now.getTime())) return undefined;
  } else {
    decide('anonymize', lifecycleOf(current));
  }
  const resource = await writeLifecycleVersion(tx, current, anonymizePatient(current.resource, input.now), 'anonymized', {
    uniqueContacts: false,
    now: input.now,
  });
  const versions = await allVersions(tx, input.id);
  await tx.anonymizeHistory(
    input.id,
    versions.map((v) =>
      v.resource.meta?.versionId === resource.meta.versionId
        ? resource
        : (anonymizeHistoricVersion(v.resource, input.now) as PatientRecord['resource']),
    ),
  );
  await tx.appendEvents([
    newEvent(LifecycleEventType.anonymized, input.id, input.now, {
      anonymized_at: input.now.toISOString(),
      trigger: input.trigger,
      version_id: resource.meta.versionId,
    }),
  ]);
  return resource;
}

/** `$anonymize`: anonymizes a soft-deleted patient now, whatever its grace period. */
export function anonymizeNow(store: PatientStore, input: { id: string; now: Date; actor: string }): Promise<PatientRecord['resource']> {
  return store.transaction(async (tx) => {
    const resource = await anonymizeInTransaction(tx, { ...input, trigger: 'operation' });
    if (!resource) throw errors.internal();
    return resource;
  });
}

async function allVersions(tx: PatientStore, id: string): Promise<StoredPatient[]> {
  const all: StoredPatient[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await tx.history(id, { count: HISTORY_PAGE, ...(before !== undefined ? { beforeVersion: before } : {}) });
    all.push(...page.versions);
    const last = page.versions.at(-1);
    if (!page.hasMore || !last) return all;
    before = Number(last.resource.meta?.versionId);
  }
}
