import type { Types } from 'mongoose';
import type { ClaimedDelivery, ClaimRequest, DeliveryKey, OutboxStore } from '../../events/outbox-port.js';
import { isDuplicateKey, toOutcomeError } from './driver-errors.js';
import { outboxModelsOf, type OutboxDeliveryDocument, type OutboxEventDocument, type OutboxModels } from './outbox.js';
import type { MongoModels } from './schemas.js';

/** Order in which pending events are fanned out: each patient's events in commit order. */
export const FAN_OUT_SORT = { fannedOut: 1, patientId: 1, patientSeq: 1 } as const;

/** Order in which due deliveries are tried: the longest-waiting first, a patient's earlier events first. */
export const CLAIM_SORT = { nextAttemptMs: 1, patientSeq: 1 } as const;

/** Pending events not yet fanned out. */
export const pendingEventsFilter = { fannedOut: false } as const;

/**
 * Deliveries that may be leased at `nowMs`: to a configured target, not delivered, due, and not
 * under a live lease. `skip` excludes deliveries found blocked earlier in the same claim.
 */
export function claimableFilter(targets: readonly string[], nowMs: number, skip: readonly Types.ObjectId[] = []): object {
  return {
    target: { $in: [...targets] },
    deliveredAt: null,
    nextAttemptMs: { $lte: nowMs },
    $or: [{ leaseUntilMs: null }, { leaseUntilMs: { $lte: nowMs } }],
    ...(skip.length > 0 ? { _id: { $nin: [...skip] } } : {}),
  };
}

/** Takes the lease and counts the attempt. */
export function leaseUpdate(owner: string, leaseUntilMs: number): object {
  return { $set: { leaseOwner: owner, leaseUntilMs }, $inc: { attempts: 1 } };
}

/** Undelivered deliveries of an earlier event of the same patient to the same target (they block `d`). */
export function earlierPendingFilter(d: Pick<OutboxDeliveryDocument, 'target' | 'patientId' | 'patientSeq'>): object {
  return { target: d.target, patientId: d.patientId, deliveredAt: null, patientSeq: { $lt: d.patientSeq } };
}

/** The one delivery `key` names, while undelivered (and, with `owner`, still leased by it). */
export function pendingDeliveryFilter(key: Pick<DeliveryKey, 'eventId' | 'target'>, owner?: string): object {
  return { eventId: key.eventId, target: key.target, deliveredAt: null, ...(owner !== undefined ? { leaseOwner: owner } : {}) };
}

/**
 * {@link OutboxStore} on MongoDB. A claim is a loop of `findOneAndUpdate` (atomic per document, so
 * two processes never lease the same delivery), each followed by the order check: a leased delivery
 * with an undelivered earlier event of its patient to its target is handed back at once and skipped.
 * Fan-out upserts deliveries (idempotent, so several processes may fan out at once) in
 * {@link FAN_OUT_SORT} order, then marks the events.
 */
export class MongoOutbox implements OutboxStore {
  private readonly models: OutboxModels;

  /** On the connection of a `MongoStore` (pass the store), or on the given outbox models. */
  constructor(source: { readonly models: MongoModels } | OutboxModels) {
    this.models = 'deliveries' in source ? source : outboxModelsOf(source.models);
  }

  fanOut(targets: readonly string[], limit: number): Promise<number> {
    if (targets.length === 0 || limit <= 0) return Promise.resolve(0);
    return mapped(async () => {
      const pending = await this.models.events
        .find(pendingEventsFilter, { _id: 1, patientId: 1, patientSeq: 1 })
        .sort(FAN_OUT_SORT)
        .limit(limit)
        .lean<Pick<OutboxEventDocument, '_id' | 'patientId' | 'patientSeq'>[]>();
      if (pending.length === 0) return 0;
      const upserts = pending.flatMap((e) =>
        targets.map((target) => ({
          updateOne: {
            filter: { eventId: e._id, target },
            update: { $setOnInsert: insertedFields(newDelivery(e, target)) },
            upsert: true,
          },
        })),
      );
      try {
        // ordered: if it stops halfway, no later event of a patient has deliveries its earlier ones lack
        await this.models.deliveries.bulkWrite(upserts, { ordered: true });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        return 0; // another process upserted the same delivery at the same moment: the next round goes on
      }
      const marked = await this.models.events.updateMany(
        { _id: { $in: pending.map((e) => e._id) }, fannedOut: false },
        { $set: { fannedOut: true } },
      );
      return marked.modifiedCount;
    });
  }

  claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    if (request.targets.length === 0 || request.limit <= 0) return Promise.resolve([]);
    const nowMs = request.now.getTime();
    return mapped(async () => {
      const leased: OutboxDeliveryDocument[] = [];
      const skipped: Types.ObjectId[] = [];
      // bounded: blocked deliveries are handed back and skipped, at most a few batches' worth per round
      for (let tries = 0; leased.length < request.limit && tries < request.limit * 4; tries++) {
        const doc = await this.models.deliveries
          .findOneAndUpdate(claimableFilter(request.targets, nowMs, skipped), leaseUpdate(request.owner, nowMs + request.leaseMs), {
            sort: CLAIM_SORT,
            returnDocument: 'after',
          })
          .lean<OutboxDeliveryDocument>();
        if (!doc) break;
        if (await this.models.deliveries.exists(earlierPendingFilter(doc))) {
          await this.models.deliveries.updateOne(
            { _id: doc._id, leaseOwner: request.owner },
            { $set: { leaseOwner: null, leaseUntilMs: null }, $inc: { attempts: -1 } },
          );
          skipped.push(doc._id!);
          continue;
        }
        leased.push(doc);
      }
      if (leased.length === 0) return [];
      const events = await this.models.events
        .find({ _id: { $in: leased.map((d) => d.eventId) } })
        .lean<OutboxEventDocument[]>();
      const byId = new Map(events.map((e) => [e._id, e]));
      return leased.map((d): ClaimedDelivery => {
        const e = byId.get(d.eventId)!;
        return {
          eventId: d.eventId,
          target: d.target,
          owner: request.owner,
          attempts: d.attempts,
          event: { id: e._id, type: e.type, patientId: e.patientId, occurredAt: e.occurredAt, data: e.data },
        };
      });
    });
  }

  markDelivered(delivery: DeliveryKey, outcome: { status: number; at: Date }): Promise<void> {
    return mapped(async () => {
      await this.models.deliveries.updateOne(pendingDeliveryFilter(delivery), {
        $set: { deliveredAt: outcome.at.toISOString(), lastStatus: outcome.status, leaseOwner: null, leaseUntilMs: null },
      });
    });
  }

  markFailed(delivery: DeliveryKey, outcome: { status: number | null; nextAttemptAt: Date }): Promise<void> {
    return mapped(async () => {
      await this.models.deliveries.updateOne(pendingDeliveryFilter(delivery, delivery.owner), {
        $set: { nextAttemptMs: outcome.nextAttemptAt.getTime(), lastStatus: outcome.status, leaseOwner: null, leaseUntilMs: null },
      });
    });
  }

  backlog(targets: readonly string[]): Promise<number> {
    return mapped(async () => {
      const undelivered = await this.models.deliveries.countDocuments({ target: { $in: [...targets] }, deliveredAt: null });
      const unfanned = await this.models.events.countDocuments(pendingEventsFilter);
      return undelivered + unfanned * targets.length;
    });
  }
}

/** A delivery as fan-out creates it: due at once (`nextAttemptMs` 0), no attempt yet. */
export function newDelivery(
  event: Pick<OutboxEventDocument, '_id' | 'patientId' | 'patientSeq'>,
  target: string,
): Omit<OutboxDeliveryDocument, '_id'> {
  return {
    eventId: event._id,
    target,
    patientId: event.patientId,
    patientSeq: event.patientSeq,
    attempts: 0,
    nextAttemptMs: 0,
    leaseUntilMs: null,
    leaseOwner: null,
    deliveredAt: null,
    lastStatus: null,
  };
}

/** What an upsert sets besides the fields its filter already fixes. */
function insertedFields({ eventId: _e, target: _t, ...rest }: Omit<OutboxDeliveryDocument, '_id'>): object {
  return rest;
}

async function mapped<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toOutcomeError(err);
  }
}
