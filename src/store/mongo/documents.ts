import type {
  IdempotencyRecord,
  IndexEntry,
  PatientRecord,
  PatientState,
  SortKeys,
  StoredPatient,
  UniqueKey,
} from '../port.js';
import { errors } from '../../fhir/outcome.js';
import { uniqueKeyId } from '../unique-conflict.js';

/**
 * Pure mapping between the port's records and the MongoDB documents of the four collections.
 * No I/O here: {@link MongoStore} writes what these functions build and reads back through them.
 */

/** `patients`: the current version of each patient, its search values and sort keys. */
export interface PatientDocument {
  /** The FHIR logical id. */
  _id: string;
  versionId: number;
  lastUpdated: string;
  lastUpdatedMs: number;
  state: PatientState;
  /** The FHIR resource exactly as given (plain JSON). */
  resource: PatientRecord['resource'];
  ix: IndexEntry[];
  sort: SortKeys;
}

/** `patient_history`: one document per version, the current one included. */
export interface HistoryDocument {
  id: string;
  versionId: number;
  lastUpdated: string;
  lastUpdatedMs: number;
  state: PatientState;
  resource: PatientRecord['resource'];
}

/** `patient_unique_keys`: a claim on a unique value; `_id` uniqueness is the constraint. */
export interface UniqueKeyDocument {
  /** `${kind}|${value}` */
  _id: string;
  kind: UniqueKey['kind'];
  patientId: string;
}

/** `idempotency`: what an `Idempotency-Key` resolved to; `expiresAt` drives a TTL index. */
export interface IdempotencyDocument {
  /** The key itself. */
  _id: string;
  fingerprint: string;
  status: number;
  patientId: string;
  versionId: string;
  createdAt: string;
  expiresAt: Date;
}

const VERSION_ID = /^[1-9][0-9]{0,15}$/;

/** Parses a FHIR versionId the server assigned (`"1"`, `"2"`, …); `undefined` for anything else. */
export function parseVersionId(versionId: string): number | undefined {
  return VERSION_ID.test(versionId) ? Number(versionId) : undefined;
}

function requireVersionId(record: PatientRecord): number {
  const versionId = parseVersionId(record.resource.meta.versionId);
  // A record always comes from the server's own version counter: anything else is a bug above us.
  if (versionId === undefined) throw errors.internal();
  return versionId;
}

function requireInstant(record: PatientRecord): number {
  const ms = Date.parse(record.resource.meta.lastUpdated);
  if (Number.isNaN(ms)) throw errors.internal();
  return ms;
}

/** Copies the defined fields only, so no `undefined` reaches the database. */
function definedFields<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** The `patients` document for a record. */
export function toPatientDocument(record: PatientRecord): PatientDocument {
  return {
    _id: record.resource.id,
    versionId: requireVersionId(record),
    lastUpdated: record.resource.meta.lastUpdated,
    lastUpdatedMs: requireInstant(record),
    state: record.state,
    resource: record.resource,
    ix: record.index.map((entry) => definedFields(entry)),
    sort: definedFields(record.sort),
  };
}

/** The `patient_history` document for a record. */
export function toHistoryDocument(record: PatientRecord): HistoryDocument {
  return {
    id: record.resource.id,
    versionId: requireVersionId(record),
    lastUpdated: record.resource.meta.lastUpdated,
    lastUpdatedMs: requireInstant(record),
    state: record.state,
    resource: record.resource,
  };
}

/** The `patient_unique_keys` documents a record claims. */
export function toUniqueKeyDocuments(record: PatientRecord): UniqueKeyDocument[] {
  return record.uniqueKeys.map((key) => ({ _id: uniqueKeyId(key), kind: key.kind, patientId: record.resource.id }));
}

/** The kind of a unique-key `_id` (the part before the first `|`), or `undefined`. */
export function uniqueKeyKind(id: string): UniqueKey['kind'] | undefined {
  const kind = id.slice(0, id.indexOf('|'));
  return kind === 'identifier' || kind === 'email' || kind === 'phone' ? kind : undefined;
}

/** The port's view of a stored version (`patients` or `patient_history` document): nothing else leaks. */
export function toStoredPatient(doc: StoredPatient): StoredPatient {
  return { resource: doc.resource, state: doc.state };
}

/**
 * Rebuilds the full record from its stored documents: the inverse of {@link toPatientDocument}
 * plus {@link toUniqueKeyDocuments} (the value is the part after the first `|` of `_id`).
 */
export function toPatientRecord(doc: PatientDocument, keys: UniqueKeyDocument[]): PatientRecord {
  return {
    resource: doc.resource,
    state: doc.state,
    index: doc.ix.map((entry) => ({ ...entry })),
    uniqueKeys: keys.map((key) => ({ kind: key.kind, value: key._id.slice(key.kind.length + 1) })),
    sort: { ...doc.sort },
  };
}

/** The `idempotency` document for a record. */
export function toIdempotencyDocument(record: IdempotencyRecord): IdempotencyDocument {
  const expiresAt = instant(record.expiresAt);
  return {
    _id: record.key,
    fingerprint: record.fingerprint,
    status: record.status,
    patientId: record.patientId,
    versionId: record.versionId,
    createdAt: instant(record.createdAt).toISOString(),
    expiresAt,
  };
}

/** Instants are normalized to `Date#toISOString()` (UTC, milliseconds), as the SQLite engine does. */
function instant(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw errors.internal();
  return date;
}

/** The port's idempotency record; `expiresAt` comes back as an ISO 8601 instant in UTC. */
export function fromIdempotencyDocument(doc: IdempotencyDocument): IdempotencyRecord {
  return {
    key: doc._id,
    fingerprint: doc.fingerprint,
    status: doc.status,
    patientId: doc.patientId,
    versionId: doc.versionId,
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt.toISOString(),
  };
}
