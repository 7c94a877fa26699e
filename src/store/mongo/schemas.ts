import { Schema } from 'mongoose';
import type { Connection, IndexDefinition, IndexOptions, Model } from 'mongoose';
import type { IndexEntry, SortKeys } from '../port.js';
import { PatientState } from '../port.js';
import type { HistoryDocument, IdempotencyDocument, PatientDocument, UniqueKeyDocument } from './documents.js';

/**
 * Mongoose schemas of the MongoDB engine and the indexes they declare. The index lists are exported
 * so tests (and the search compiler's tests) can check that every query has an index to use: SPEC §6
 * asks that no listed search parameter needs a collection scan.
 */

/** One declared index: its keys and options, as passed to `schema.index()`. */
export interface DeclaredIndex {
  fields: IndexDefinition;
  options?: IndexOptions;
}

/** Declares `indexes` on `schema` (the lists stay exported, so tests can check every filter against them). */
export function declareIndexes<T>(schema: Schema<T>, indexes: readonly DeclaredIndex[]): void {
  for (const index of indexes) schema.index(index.fields, index.options);
}

/** Collection names (stable: they are the on-disk layout). */
export const collections = {
  patients: 'patients',
  history: 'patient_history',
  uniqueKeys: 'patient_unique_keys',
  idempotency: 'idempotency',
} as const;

/** Indexes of `patients`: one per search-value shape (`ix.param` first), one per `_sort` key per state. */
export const patientIndexes: readonly DeclaredIndex[] = [
  { fields: { 'ix.param': 1, 'ix.text': 1 } },
  { fields: { 'ix.param': 1, 'ix.exact': 1 } },
  { fields: { 'ix.param': 1, 'ix.code': 1, 'ix.system': 1 } },
  { fields: { 'ix.param': 1, 'ix.low': 1, 'ix.high': 1 } },
  { fields: { 'ix.param': 1, 'ix.high': 1 } },
  { fields: { 'ix.param': 1, 'ix.ref': 1 } },
  { fields: { state: 1, _id: 1 } },
  { fields: { state: 1, lastUpdatedMs: 1, _id: 1 } },
  { fields: { state: 1, 'sort.family': 1, _id: 1 } },
  { fields: { state: 1, 'sort.given': 1, _id: 1 } },
  { fields: { state: 1, 'sort.birthdate': 1, _id: 1 } },
  { fields: { state: 1, 'sort.gender': 1, _id: 1 } },
];

/** Indexes of `patient_history`: a version exists once; system-wide history walks by time. */
export const historyIndexes: readonly DeclaredIndex[] = [
  { fields: { id: 1, versionId: 1 }, options: { unique: true } },
  { fields: { lastUpdatedMs: 1, id: 1, versionId: 1 } },
];

/** Indexes of `patient_unique_keys` besides `_id` (whose uniqueness is the constraint itself). */
export const uniqueKeyIndexes: readonly DeclaredIndex[] = [{ fields: { patientId: 1 } }];

/** Indexes of `idempotency`: MongoDB's TTL monitor removes expired records (`purgeIdempotency` too). */
export const idempotencyIndexes: readonly DeclaredIndex[] = [
  { fields: { expiresAt: 1 }, options: { expireAfterSeconds: 0 } },
  { fields: { patientId: 1 } },
];

// Options shared by every schema: no `__v`, keep empty objects (FHIR JSON is stored as given),
// no index builds behind our back (MongoStore.connect syncs them explicitly).
const common = { versionKey: false, minimize: false, autoIndex: false, autoCreate: false } as const;

const isInteger = { validator: Number.isInteger, message: 'must be an integer' };
const isInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const isPatient = {
  validator: (value: unknown) =>
    typeof value === 'object' && value !== null && (value as { resourceType?: unknown }).resourceType === 'Patient',
  message: 'must be a Patient resource',
};
const states = Object.values(PatientState);

const indexEntrySchema = new Schema<IndexEntry>(
  {
    param: { type: String, required: true },
    text: String,
    exact: String,
    system: String,
    code: String,
    low: Number,
    high: Number,
    ref: String,
  },
  { _id: false, ...common },
);

const sortSchema = new Schema<SortKeys>(
  { family: String, given: String, birthdate: Number, gender: String },
  { _id: false, ...common },
);

const versionFields = {
  versionId: { type: Number, required: true, min: 1, validate: isInteger },
  lastUpdated: { type: String, required: true, match: isInstant },
  lastUpdatedMs: { type: Number, required: true },
  state: { type: String, required: true, enum: states },
  resource: { type: Schema.Types.Mixed, required: true, validate: isPatient },
};

/** Schema of `patients` (current versions). */
export const patientSchema = new Schema<PatientDocument>(
  {
    _id: { type: String, required: true },
    ...versionFields,
    ix: { type: [indexEntrySchema], default: [] },
    sort: { type: sortSchema, default: () => ({}) },
  },
  { collection: collections.patients, ...common },
);

/** Schema of `patient_history` (every version, current included). */
export const historySchema = new Schema<HistoryDocument>(
  { id: { type: String, required: true }, ...versionFields },
  { collection: collections.history, ...common },
);

/** Schema of `patient_unique_keys`. */
export const uniqueKeySchema = new Schema<UniqueKeyDocument>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true, enum: ['identifier', 'email', 'phone'] },
    patientId: { type: String, required: true },
  },
  { collection: collections.uniqueKeys, ...common },
);

/** Schema of `idempotency`. */
export const idempotencySchema = new Schema<IdempotencyDocument>(
  {
    _id: { type: String, required: true },
    fingerprint: { type: String, required: true },
    status: { type: Number, required: true, validate: isInteger },
    patientId: { type: String, required: true },
    versionId: { type: String, required: true },
    createdAt: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: collections.idempotency, ...common },
);

declareIndexes(patientSchema, patientIndexes);
declareIndexes(historySchema, historyIndexes);
declareIndexes(uniqueKeySchema, uniqueKeyIndexes);
declareIndexes(idempotencySchema, idempotencyIndexes);

/** The engine's models, bound to one connection. */
export interface MongoModels {
  readonly patients: Model<PatientDocument>;
  readonly history: Model<HistoryDocument>;
  readonly uniqueKeys: Model<UniqueKeyDocument>;
  readonly idempotency: Model<IdempotencyDocument>;
}

/** Registers the engine's models on `connection` (never on mongoose's global connection). */
export function bindModels(connection: Connection): MongoModels {
  return {
    patients: connection.model<PatientDocument>('Patient', patientSchema),
    history: connection.model<HistoryDocument>('PatientHistory', historySchema),
    uniqueKeys: connection.model<UniqueKeyDocument>('PatientUniqueKey', uniqueKeySchema),
    idempotency: connection.model<IdempotencyDocument>('Idempotency', idempotencySchema),
  };
}
