import { Schema } from 'mongoose';
import type { ClientSession, Connection, Model, Types } from 'mongoose';
import type { LifecycleEvent } from '../port.js';
import { declareIndexes, type DeclaredIndex, type MongoModels } from './schemas.js';

/**
 * The transactional outbox on MongoDB (SPEC §7), the counterpart of SQLite's `outbox_event` /
 * `outbox_delivery`:
 * - `outbox_events`: one document per lifecycle event, inserted in the transaction of the change it
 *   reports, with `patientSeq` — 1, 2, 3… per patient, drawn from `outbox_sequences` in the same
 *   transaction. MongoDB has no global commit order; the counter document serializes one patient's
 *   event-writing transactions (a concurrent one hits a write conflict and is retried), so
 *   `patientSeq` is that patient's commit order, whatever the clocks of the writing processes say.
 * - `outbox_deliveries`: one document per (event, target URL) with the retry state and the lease.
 *   Times compared by the dispatcher are epoch ms from the injected clock.
 * The delivery side is `outbox-delivery.ts`. Filters are pure functions, testable with mingo.
 */

/** Collection names (stable: they are the on-disk layout). */
export const outboxCollections = {
  events: 'outbox_events',
  sequences: 'outbox_sequences',
  deliveries: 'outbox_deliveries',
} as const;

export interface OutboxEventDocument {
  /** The event id (a UUID). */
  _id: string;
  type: string;
  patientId: string;
  /** Position among this patient's events (commit order), from 1. */
  patientSeq: number;
  occurredAt: string;
  /** Ids, codes and instants only: never PHI. */
  data: LifecycleEvent['data'];
  /** Set once the event has its deliveries. */
  fannedOut: boolean;
}

/** `outbox_sequences`: the last `patientSeq` given out per patient (`_id` is the patient id). */
export interface OutboxSequenceDocument {
  _id: string;
  seq: number;
}

export interface OutboxDeliveryDocument {
  _id?: Types.ObjectId;
  eventId: string;
  target: string;
  patientId: string;
  patientSeq: number;
  /** Attempts started (a claim counts one). */
  attempts: number;
  nextAttemptMs: number;
  leaseUntilMs: number | null;
  leaseOwner: string | null;
  /** ISO instant of the 2xx answer; `null` while pending. */
  deliveredAt: string | null;
  lastStatus: number | null;
}

/** Fan-out walks pending events patient by patient in `patientSeq` order; events are unique per (patient, seq). */
export const outboxEventIndexes: readonly DeclaredIndex[] = [
  { fields: { patientId: 1, patientSeq: 1 }, options: { unique: true } },
  { fields: { fannedOut: 1, patientId: 1, patientSeq: 1 }, options: { partialFilterExpression: { fannedOut: false } } },
];

/** One delivery per (event, target); claims scan due pending ones per target; the order check looks up a patient's lane. */
export const outboxDeliveryIndexes: readonly DeclaredIndex[] = [
  { fields: { eventId: 1, target: 1 }, options: { unique: true } },
  { fields: { target: 1, deliveredAt: 1, nextAttemptMs: 1, patientSeq: 1 } },
  { fields: { target: 1, patientId: 1, deliveredAt: 1, patientSeq: 1 } },
];

const common = { versionKey: false, minimize: false, autoIndex: false, autoCreate: false } as const;
const isInteger = { validator: Number.isInteger, message: 'must be an integer' };
const isInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const isPlainObject = {
  validator: (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value),
  message: 'must be an object',
};

/** Schema of `outbox_events`. */
export const outboxEventSchema = new Schema<OutboxEventDocument>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    patientId: { type: String, required: true },
    patientSeq: { type: Number, required: true, min: 1, validate: isInteger },
    occurredAt: { type: String, required: true, match: isInstant },
    data: { type: Schema.Types.Mixed, required: true, validate: isPlainObject },
    fannedOut: { type: Boolean, required: true, default: false },
  },
  { collection: outboxCollections.events, ...common },
);

/** Schema of `outbox_sequences`. */
export const outboxSequenceSchema = new Schema<OutboxSequenceDocument>(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true, min: 1, validate: isInteger },
  },
  { collection: outboxCollections.sequences, ...common },
);

/** Schema of `outbox_deliveries`. */
export const outboxDeliverySchema = new Schema<OutboxDeliveryDocument>(
  {
    eventId: { type: String, required: true },
    target: { type: String, required: true },
    patientId: { type: String, required: true },
    patientSeq: { type: Number, required: true, min: 1, validate: isInteger },
    attempts: { type: Number, required: true, min: 0, default: 0, validate: isInteger },
    nextAttemptMs: { type: Number, required: true, default: 0 },
    leaseUntilMs: { type: Number, default: null },
    leaseOwner: { type: String, default: null },
    deliveredAt: { type: String, default: null, match: isInstant },
    lastStatus: { type: Number, default: null },
  },
  { collection: outboxCollections.deliveries, ...common },
);

declareIndexes(outboxEventSchema, outboxEventIndexes);
declareIndexes(outboxDeliverySchema, outboxDeliveryIndexes);

export interface OutboxModels {
  readonly events: Model<OutboxEventDocument>;
  readonly sequences: Model<OutboxSequenceDocument>;
  readonly deliveries: Model<OutboxDeliveryDocument>;
}

/** The outbox models on `connection` (registered on first use, never on mongoose's global connection). */
export function bindOutboxModels(connection: Connection): OutboxModels {
  const bind = <T>(name: string, schema: Schema<T>): Model<T> =>
    (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
  return {
    events: bind('OutboxEvents', outboxEventSchema),
    sequences: bind('OutboxSequences', outboxSequenceSchema),
    deliveries: bind('OutboxDeliveries', outboxDeliverySchema),
  };
}

/** The outbox models on the connection the engine's models live on. */
export function outboxModelsOf(models: MongoModels): OutboxModels {
  return bindOutboxModels(models.patients.db);
}

/**
 * Creates the outbox collections and syncs their indexes. Run at connect, outside transactions:
 * `appendOutboxEvents` runs in snapshot transactions, which cannot create collections.
 */
export async function ensureOutboxCollection(models: MongoModels): Promise<void> {
  for (const model of Object.values(outboxModelsOf(models)) as Model<unknown>[]) {
    await model.createCollection();
    await model.syncIndexes();
  }
}

/** The event documents of one append, given the last `patientSeq` of each patient before it. */
export function toOutboxEventDocuments(events: readonly LifecycleEvent[], lastSeq: ReadonlyMap<string, number>): OutboxEventDocument[] {
  const next = new Map(lastSeq);
  return events.map((e) => {
    const patientSeq = (next.get(e.patientId) ?? 0) + 1;
    next.set(e.patientId, patientSeq);
    return { _id: e.id, type: e.type, patientId: e.patientId, patientSeq, occurredAt: e.occurredAt, data: e.data, fannedOut: false };
  });
}

/**
 * Inserts the events in the caller's transaction, all or none, numbering each patient's events
 * after the ones already written (one `$inc` per patient on `outbox_sequences`). Operations run one
 * at a time: a session must not run operations concurrently.
 */
export async function appendOutboxEvents(
  models: MongoModels,
  events: readonly LifecycleEvent[],
  session: ClientSession,
): Promise<void> {
  if (events.length === 0) return;
  const outbox = outboxModelsOf(models);
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.patientId, (counts.get(e.patientId) ?? 0) + 1);
  const lastSeq = new Map<string, number>();
  for (const [patientId, count] of counts) {
    const counter = await outbox.sequences
      .findOneAndUpdate({ _id: patientId }, { $inc: { seq: count } }, { upsert: true, returnDocument: 'after', session })
      .lean<OutboxSequenceDocument>();
    lastSeq.set(patientId, counter!.seq - count);
  }
  await outbox.events.insertMany(toOutboxEventDocuments(events, lastSeq), { session, ordered: true });
}
