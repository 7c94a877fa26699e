import type { Patient } from 'fhir/r4.js';
import type { SearchRequest } from '../fhir/search/types.js';
import type { AuditStore } from '../audit/audit-port.js';

/**
 * The storage port: the one interface both engines (SQLite, MongoDB) implement. Plain FHIR JSON in
 * and out. Engines throw only `OperationOutcomeError` — never a driver error or a mongoose document.
 *
 * Everything that needs FHIR knowledge (search values, unique keys, sort keys, versions, time) is
 * computed above the engines and handed in as a {@link PatientRecord}; engines only store, index and
 * query what they are given, atomically.
 */
export interface PatientStore {
  readonly engine: 'sqlite' | 'mongodb';

  /**
   * Stores version 1 of a new patient (current + history) and its unique keys.
   * Throws 409 `DUPLICATE_IDENTIFIER` / `DUPLICATE_CONTACT` when a unique key is taken.
   */
  create(record: PatientRecord): Promise<void>;

  /** Current version (any state), or `undefined` when the id never existed. */
  read(id: string): Promise<StoredPatient | undefined>;

  /** One version from history, or `undefined`. */
  readVersion(id: string, versionId: string): Promise<StoredPatient | undefined>;

  /** Versions of one patient, newest first (https://hl7.org/fhir/R4/http.html#history). */
  history(id: string, query: HistoryQuery): Promise<HistoryPage>;

  /**
   * Versions of every patient (type-level history, https://hl7.org/fhir/R4/http.html#history),
   * newest first: `lastUpdated` descending, then id and version descending; keyset paged by
   * {@link TypeHistoryCursor}. Deletions are versions too (state `soft-deleted`).
   */
  historyAcrossPatients(query: TypeHistoryQuery): Promise<TypeHistoryPage>;

  /**
   * Writes `record` as the new current version if the stored current version is still
   * `expectedVersionId`, else throws 412 `VERSION_CONFLICT`. Unique keys are replaced by the
   * record's (an empty list frees them, e.g. on soft delete). Throws 409 on a taken key.
   */
  update(record: PatientRecord, expectedVersionId: string): Promise<void>;

  /** Runs a neutral search request (parsed by `fhir/search/`) and returns one keyset page. */
  search(request: SearchRequest): Promise<SearchPage>;

  /** Idempotency records for `POST` with `Idempotency-Key`. */
  getIdempotency(key: string): Promise<IdempotencyRecord | undefined>;
  /** Inserts a record; returns false (and changes nothing) when the key already exists. */
  putIdempotency(record: IdempotencyRecord): Promise<boolean>;
  /** Deletes records whose `expiresAt` is before `now`; returns how many. */
  purgeIdempotency(now: Date): Promise<number>;

  /**
   * Runs `work` atomically: every store call made through the `tx` store it receives commits
   * together or not at all. Nested calls join the outer transaction.
   */
  transaction<T>(work: (tx: PatientStore) => Promise<T>): Promise<T>;

  /**
   * Appends lifecycle events to the transactional outbox. Called on the `tx` store inside the same
   * transaction as the state change they report, so an event exists if and only if the change does.
   */
  appendEvents(events: LifecycleEvent[]): Promise<void>;

  /**
   * Deletion lifecycle (SPEC §7): sets (or, with `undefined`, removes) the lifecycle index row of a
   * patient — what the sweep and `$deleted` query. Written with every lifecycle state change.
   */
  setDeletionIndex(id: string, entry: DeletionIndexEntry | undefined): Promise<void>;

  /** Ids of soft-deleted, not held patients whose grace period ended before `now`, oldest first. */
  findExpiredSoftDeleted(now: Date, limit: number): Promise<string[]>;

  /** Deleted patients (current versions), newest deletion first, keyset paged. */
  listDeleted(query: DeletedQuery): Promise<DeletedPage>;

  /** Replaces the correlation hashes of a patient (an empty list clears them). Never in the resource. */
  setCorrelationHashes(id: string, hashes: string[]): Promise<void>;

  /** Ids of the patients holding any of `hashes` (only soft-deleted or anonymized patients hold any). */
  findByCorrelation(hashes: string[]): Promise<string[]>;

  /**
   * Anonymization: replaces every stored history version of `id` by the given ones (matched on
   * `meta.versionId`; every stored version must be given, else 500), and purges the patient's
   * idempotency records and search-index values. Atomic.
   */
  anonymizeHistory(id: string, versions: PatientRecord['resource'][]): Promise<void>;

  /**
   * The audit trail (SPEC §8). On a `tx` store its `append` joins the open transaction, so a change
   * and its AuditEvent commit together.
   */
  readonly audit: AuditStore;

  /** Whether the store answers (for `/readyz`). */
  ping(): Promise<boolean>;

  close(): Promise<void>;
}

/** Lifecycle state of the current version (SPEC §7). */
export const PatientState = {
  active: 'active',
  softDeleted: 'soft-deleted',
  anonymized: 'anonymized',
} as const;
export type PatientState = (typeof PatientState)[keyof typeof PatientState];

/** A stored Patient version and its lifecycle state. */
export interface StoredPatient {
  resource: Patient;
  state: PatientState;
}

/** Everything an engine stores for one version of a Patient. */
export interface PatientRecord {
  /** The resource with `id`, `meta.versionId` and `meta.lastUpdated` already set. */
  resource: Patient & { id: string; meta: { versionId: string; lastUpdated: string } };
  state: PatientState;
  /** Search values of this version, extracted at write time. */
  index: IndexEntry[];
  /** Keys that must be unique among non-deleted patients (empty unless active). */
  uniqueKeys: UniqueKey[];
  /** Values `_sort` orders by, besides `_id` and `_lastUpdated`. */
  sort: SortKeys;
}

/**
 * One search value of a patient, stored flat so both engines index it the same way:
 * SQLite as a row of `patient_search`, MongoDB as an element of the `ix` array.
 * Which fields are set depends on the parameter type.
 */
export interface IndexEntry {
  /** Search parameter code, e.g. `family`, `identifier`, `birthdate`, `_id`. */
  param: string;
  /** string: case- and accent-folded value (prefix-searchable); token: folded display text (`:text`). */
  text?: string;
  /** string: the value as written (for `:exact`). */
  exact?: string;
  /** token: system (`''` when the element has none). */
  system?: string;
  /** token: code/value. */
  code?: string;
  /** date: start of the period the value covers, epoch ms, inclusive. */
  low?: number;
  /** date: end of the period the value covers, epoch ms, exclusive. */
  high?: number;
  /** reference: `Type/id`. */
  ref?: string;
}

/** A uniqueness claim, e.g. `{ kind: 'identifier', value: 'urn:oid:1.2|123' }`. */
export interface UniqueKey {
  kind: 'identifier' | 'email' | 'phone';
  value: string;
}

export interface SortKeys {
  family?: string;
  given?: string;
  /** epoch ms of the start of birthDate */
  birthdate?: number;
  gender?: string;
}

export interface HistoryQuery {
  /** Page size. */
  count: number;
  /** Only versions with lastUpdated >= since (epoch ms) */
  since?: number;
  /** Only versions with versionId < beforeVersion (keyset paging, newest first). */
  beforeVersion?: number;
}

/** Keyset position in the type-level history: the last version of the previous page. */
export interface TypeHistoryCursor {
  lastUpdatedMs: number;
  id: string;
  versionId: number;
}

export interface TypeHistoryQuery {
  /** Page size. */
  count: number;
  /** Only versions with lastUpdated >= since (epoch ms). */
  since?: number;
  /** Continue after this version (older ones). */
  after?: TypeHistoryCursor;
}

export interface TypeHistoryPage {
  versions: StoredPatient[];
  /** Where the next (older) page starts, when there is one. */
  next?: TypeHistoryCursor;
}

export interface HistoryPage {
  versions: StoredPatient[];
  /** Total versions matching (ignoring paging). */
  total: number;
  /** Whether older versions exist past this page. */
  hasMore: boolean;
}

/**
 * One patient a search matched, as stored: its JSON text is served as is (a page of 20 patients is
 * not parsed and re-serialized on its way to the client); `id` and `versionId` name it for audit.
 */
export interface SearchMatch {
  id: string;
  versionId: string;
  /** The stored resource (current version) as JSON text. */
  json: string;
}

export interface SearchPage {
  matches: SearchMatch[];
  /** Accurate total when requested; `undefined` for `_total=none`. */
  total?: number;
  /** Cursor positions for the next/previous page, already opaque-ready (engine-neutral values). */
  next?: SearchCursor;
  previous?: SearchCursor;
}

/** Keyset position: the sort-key values of the boundary row, in the request's sort order, then id. */
export interface SearchCursor {
  /** values of the sort keys of the boundary row (null for a missing value), then its id */
  after: (string | number | null)[];
  /** direction: `next` continues forward; `previous` walks backwards from the boundary. */
  direction: 'next' | 'previous';
}

/** What an `Idempotency-Key` resolved to. Holds no PHI: a fingerprint hash, ids and status. */
export interface IdempotencyRecord {
  key: string;
  /** SHA-256 of the canonical request body. */
  fingerprint: string;
  status: number;
  patientId: string;
  versionId: string;
  createdAt: string;
  expiresAt: string;
}

/** The error codes a unique-key conflict maps to. */
export const uniqueKeyConflictCode = {
  identifier: 'DUPLICATE_IDENTIFIER',
  email: 'DUPLICATE_CONTACT',
  phone: 'DUPLICATE_CONTACT',
} as const;

/**
 * A lifecycle event (SPEC §7), as written to the outbox and delivered to webhooks. Carries ids,
 * codes and instants only — never PHI.
 */
export interface LifecycleEvent {
  /** UUID, for de-duplication by receivers. */
  id: string;
  /** e.g. `identity.patient.soft_deleted`. */
  type: string;
  patientId: string;
  occurredAt: string;
  data: Record<string, string | number | boolean | null>;
}

/** Lifecycle index row of a deleted patient (SPEC §7): what the sweep and `$deleted` filter and sort on. */
export interface DeletionIndexEntry {
  status: 'soft-deleted' | 'anonymized';
  /** Under an investigation hold. */
  held: boolean;
  /** Instant of the soft delete (the `$deleted` sort key). */
  softDeletedAt: string;
  /** Instant the grace period ends. */
  graceExpiresAt: string;
}

/** Keyset position in `$deleted`: the boundary row's soft-delete instant (epoch ms) and id. */
export interface DeletedCursor {
  softDeletedAtMs: number;
  id: string;
}

export interface DeletedQuery {
  statuses: DeletionIndexEntry['status'][];
  count: number;
  /** Continue after this row (newest first). */
  after?: DeletedCursor;
}

export interface DeletedPage {
  patients: StoredPatient[];
  /** All deleted patients of the requested statuses. */
  total: number;
  next?: DeletedCursor;
}
