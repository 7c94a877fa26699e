import { Schema } from 'mongoose';
import type { ClientSession, Connection, Model } from 'mongoose';
import { errors } from '../../fhir/outcome.js';
import type { DeletedPage, DeletedQuery, DeletionIndexEntry, PatientRecord, StoredPatient } from '../port.js';
import { toStoredPatient } from './documents.js';
import type { MongoModels } from './schemas.js';

/**
 * The deletion lifecycle (SPEC §7) on MongoDB: `patient_deletion` (one index document per deleted
 * patient: what the sweep and `$deleted` filter and sort on) and `patient_correlation` (the
 * returning-patient hashes). Functions take the session of the caller's transaction.
 */

/** `patient_deletion`: `_id` is the patient id. */
export interface DeletionDocument {
  _id: string;
  status: DeletionIndexEntry['status'];
  held: boolean;
  softDeletedMs: number;
  graceExpiresMs: number;
}

/** `patient_correlation`: `_id` is `${hash}|${patientId}`. */
export interface CorrelationDocument {
  _id: string;
  hash: string;
  patientId: string;
}

export interface LifecycleModels {
  readonly deletions: Model<DeletionDocument>;
  readonly correlations: Model<CorrelationDocument>;
}

const common = { versionKey: false, autoIndex: false, autoCreate: false } as const;

const deletionSchema = new Schema<DeletionDocument>(
  {
    _id: { type: String, required: true },
    status: { type: String, required: true, enum: ['soft-deleted', 'anonymized'] },
    held: { type: Boolean, required: true },
    softDeletedMs: { type: Number, required: true },
    graceExpiresMs: { type: Number, required: true },
  },
  { collection: 'patient_deletion', ...common },
);
deletionSchema.index({ status: 1, held: 1, graceExpiresMs: 1, _id: 1 });
deletionSchema.index({ status: 1, softDeletedMs: -1, _id: -1 });
deletionSchema.index({ softDeletedMs: -1, _id: -1 });

const correlationSchema = new Schema<CorrelationDocument>(
  {
    _id: { type: String, required: true },
    hash: { type: String, required: true },
    patientId: { type: String, required: true },
  },
  { collection: 'patient_correlation', ...common },
);
correlationSchema.index({ hash: 1 });
correlationSchema.index({ patientId: 1 });

/** The lifecycle models of the connection the engine's models live on (registered once). */
export function lifecycleModels(models: MongoModels): LifecycleModels {
  const connection: Connection = models.patients.db;
  return {
    deletions: (connection.models.PatientDeletion as Model<DeletionDocument> | undefined) ??
      connection.model<DeletionDocument>('PatientDeletion', deletionSchema),
    correlations: (connection.models.PatientCorrelation as Model<CorrelationDocument> | undefined) ??
      connection.model<CorrelationDocument>('PatientCorrelation', correlationSchema),
  };
}

/** Creates the lifecycle collections and syncs their indexes (at connect, outside transactions). */
export async function ensureLifecycleCollections(models: MongoModels): Promise<void> {
  for (const model of Object.values(lifecycleModels(models))) {
    await model.createCollection();
    await model.syncIndexes();
  }
}

export async function setDeletionIndex(
  models: MongoModels,
  id: string,
  entry: DeletionIndexEntry | undefined,
  session: ClientSession | undefined,
): Promise<void> {
  const { deletions } = lifecycleModels(models);
  if (!entry) {
    await deletions.deleteOne({ _id: id }, { session });
    return;
  }
  const softDeletedMs = Date.parse(entry.softDeletedAt);
  const graceExpiresMs = Date.parse(entry.graceExpiresAt);
  if (Number.isNaN(softDeletedMs) || Number.isNaN(graceExpiresMs)) throw errors.internal();
  await deletions.replaceOne(
    { _id: id },
    { _id: id, status: entry.status, held: entry.held, softDeletedMs, graceExpiresMs },
    { upsert: true, session },
  );
}

export async function findExpiredSoftDeleted(
  models: MongoModels,
  now: Date,
  limit: number,
  session: ClientSession | undefined,
): Promise<string[]> {
  const docs = await lifecycleModels(models)
    .deletions.find({ status: 'soft-deleted', held: false, graceExpiresMs: { $lte: now.getTime() } }, { _id: 1 }, { session })
    .sort({ graceExpiresMs: 1, _id: 1 })
    .limit(Math.max(0, Math.floor(limit)))
    .lean<{ _id: string }[]>();
  return docs.map((d) => d._id);
}

export async function setCorrelationHashes(
  models: MongoModels,
  id: string,
  hashes: string[],
  session: ClientSession,
): Promise<void> {
  const { correlations } = lifecycleModels(models);
  await correlations.deleteMany({ patientId: id }, { session });
  const docs = [...new Set(hashes)].map((hash) => ({ _id: `${hash}|${id}`, hash, patientId: id }));
  if (docs.length > 0) await correlations.insertMany(docs, { session });
}

export async function findByCorrelation(
  models: MongoModels,
  hashes: string[],
  session: ClientSession | undefined,
): Promise<string[]> {
  if (hashes.length === 0) return [];
  const docs = await lifecycleModels(models)
    .correlations.find({ hash: { $in: [...new Set(hashes)] } }, { patientId: 1 }, { session })
    .lean<{ patientId: string }[]>();
  return [...new Set(docs.map((d) => d.patientId))];
}

/** Replaces every history version, purges idempotency records, search values and unique keys. */
export async function anonymizeHistory(
  models: MongoModels,
  id: string,
  versions: PatientRecord['resource'][],
  session: ClientSession,
): Promise<void> {
  const stored = await models.history.find({ id }, { versionId: 1 }, { session }).lean<{ versionId: number }[]>();
  const given = new Set(versions.map((v) => Number(v.meta.versionId)));
  if (stored.length !== given.size || stored.some((v) => !given.has(v.versionId))) throw errors.internal();
  for (const version of versions) {
    await models.history.updateOne({ id, versionId: Number(version.meta.versionId) }, { $set: { resource: version } }, { session });
  }
  await models.patients.updateOne({ _id: id }, { $set: { ix: [] } }, { session });
  await models.idempotency.deleteMany({ patientId: id }, { session });
  await models.uniqueKeys.deleteMany({ patientId: id }, { session });
}

/** Newest deletion first, keyset paged on `(softDeletedMs, _id)` descending. */
export async function listDeleted(models: MongoModels, query: DeletedQuery, session: ClientSession | undefined): Promise<DeletedPage> {
  const { deletions } = lifecycleModels(models);
  const statuses = [...new Set(query.statuses)];
  if (statuses.length === 0) return { patients: [], total: 0 };
  const filter: Record<string, unknown> = { status: { $in: statuses } };
  if (query.after) {
    const { softDeletedAtMs, id } = query.after;
    filter.$or = [{ softDeletedMs: { $lt: softDeletedAtMs } }, { softDeletedMs: softDeletedAtMs, _id: { $lt: id } }];
  }
  const size = Math.max(0, Math.floor(query.count));
  const rows = await deletions
    .find(filter, { _id: 1, softDeletedMs: 1 }, { session })
    .sort({ softDeletedMs: -1, _id: -1 })
    .limit(size + 1)
    .lean<{ _id: string; softDeletedMs: number }[]>();
  const page = rows.slice(0, size);
  const docs = await models.patients
    .find({ _id: { $in: page.map((r) => r._id) } }, { _id: 1, resource: 1, state: 1 }, { session })
    .lean<{ _id: string; resource: StoredPatient['resource']; state: StoredPatient['state'] }[]>();
  const byId = new Map(docs.map((d) => [d._id, toStoredPatient(d)]));
  const total = await deletions.countDocuments({ status: { $in: statuses } }, { session });
  const last = page.at(-1);
  return {
    patients: page.flatMap((r) => byId.get(r._id) ?? []),
    total,
    ...(rows.length > size && last ? { next: { softDeletedAtMs: last.softDeletedMs, id: last._id } } : {}),
  };
}
