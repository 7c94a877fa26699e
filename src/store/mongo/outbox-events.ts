import { Schema } from 'mongoose';
import type { ClientSession, Connection, Model } from 'mongoose';
import type { LifecycleEvent } from '../port.js';
import type { DeclaredIndex, MongoModels } from './schemas.js';

/**
 * The write side of the transactional outbox on MongoDB (SPEC §7): `outbox_events`, one document
 * per lifecycle event, inserted in the transaction of the change it reports. Mirrors SQLite's
 * `outbox_event`; the delivery side (fan-out, leases) reads it and owns `fannedOut`.
 */
export interface OutboxEventDocument {
  /** The event id (a UUID). */
  _id: string;
  type: string;
  patientId: string;
  occurredAt: string;
  /** Ids, codes and instants only: never PHI. */
  data: LifecycleEvent['data'];
  /** Set once the event has its deliveries. */
  fannedOut: boolean;
}

/** Pending events oldest first; one patient's events in order. */
export const outboxEventIndexes: readonly DeclaredIndex[] = [
  { fields: { fannedOut: 1, occurredAt: 1, _id: 1 } },
  { fields: { patientId: 1, occurredAt: 1, _id: 1 } },
];

const outboxEventSchema = new Schema<OutboxEventDocument>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    patientId: { type: String, required: true },
    occurredAt: { type: String, required: true },
    data: { type: Schema.Types.Mixed, required: true },
    fannedOut: { type: Boolean, required: true, default: false },
  },
  { collection: 'outbox_events', versionKey: false, minimize: false, autoIndex: false, autoCreate: false },
);
for (const index of outboxEventIndexes) outboxEventSchema.index(index.fields, index.options);

/** The outbox model of the connection the engine's models live on (registered once). */
export function outboxEventModel(models: MongoModels): Model<OutboxEventDocument> {
  const connection: Connection = models.patients.db;
  return (
    (connection.models.OutboxEvent as Model<OutboxEventDocument> | undefined) ??
    connection.model<OutboxEventDocument>('OutboxEvent', outboxEventSchema)
  );
}

/** Creates `outbox_events` and syncs its indexes (at connect, outside transactions). */
export async function ensureOutboxCollection(models: MongoModels): Promise<void> {
  const model = outboxEventModel(models);
  await model.createCollection();
  await model.syncIndexes();
}

/** Inserts the events in the caller's transaction: all or none. */
export async function appendOutboxEvents(
  models: MongoModels,
  events: readonly LifecycleEvent[],
  session: ClientSession,
): Promise<void> {
  if (events.length === 0) return;
  const docs = events.map((e) => ({
    _id: e.id,
    type: e.type,
    patientId: e.patientId,
    occurredAt: e.occurredAt,
    data: e.data,
    fannedOut: false,
  }));
  await outboxEventModel(models).insertMany(docs, { session, ordered: true });
}
