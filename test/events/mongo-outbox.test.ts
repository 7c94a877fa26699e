import { expect } from 'chai';
import { Query, updateOne } from 'mingo';
import mongoose, { Types } from 'mongoose';
import { LifecycleEventType, newEvent } from '../../src/events/event-types.js';
import {
  CLAIM_SORT,
  claimableFilter,
  earlierPendingFilter,
  FAN_OUT_SORT,
  leaseUpdate,
  newDelivery,
  pendingDeliveryFilter,
  pendingEventsFilter,
} from '../../src/store/mongo/outbox-delivery.js';
import {
  bindOutboxModels,
  outboxDeliveryIndexes,
  outboxDeliverySchema,
  outboxEventIndexes,
  outboxEventSchema,
  toOutboxEventDocuments,
  type OutboxDeliveryDocument,
} from '../../src/store/mongo/outbox.js';
import type { DeclaredIndex } from '../../src/store/mongo/schemas.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const NOW = T0.getTime() + 60_000;
const [A, B] = ['http://receiver.test/a', 'http://receiver.test/b'];

// Models on a connection that is never opened: documents are built and validated offline.
const connection = mongoose.createConnection();
const models = bindOutboxModels(connection);
after(() => connection.close());

type Delivery = OutboxDeliveryDocument & { _id: Types.ObjectId };

function delivery(over: Partial<OutboxDeliveryDocument> & Pick<OutboxDeliveryDocument, 'patientId' | 'patientSeq'>): Delivery {
  const base = newDelivery({ _id: `${over.patientId}-${over.patientSeq}`, patientId: over.patientId, patientSeq: over.patientSeq }, A);
  return { ...base, ...over, _id: new Types.ObjectId() };
}

const matching = (filter: object, docs: Delivery[]) => new Query(filter).find(docs).all() as Delivery[];

/** Whether an index starts with the equality fields of a query, then its range or sort fields. */
const hasIndexFor = (list: readonly DeclaredIndex[], prefix: string[]) =>
  list.some((index) => prefix.every((field, i) => Object.keys(index.fields)[i] === field));

describe('MongoDB outbox documents and filters', () => {
  describe('documents', () => {
    it('numbers each patient’s events after the ones already written', () => {
      const events = [
        newEvent(LifecycleEventType.softDeleted, 'p1', T0),
        newEvent(LifecycleEventType.softDeleted, 'p2', T0),
        newEvent(LifecycleEventType.restored, 'p1', T0),
      ];
      const docs = toOutboxEventDocuments(events, new Map([['p1', 4]]));
      expect(docs.map((d) => [d.patientId, d.patientSeq])).to.deep.equal([
        ['p1', 5],
        ['p2', 1],
        ['p1', 6],
      ]);
      expect(docs[0]).to.include({ _id: events[0]!.id, type: events[0]!.type, occurredAt: events[0]!.occurredAt, fannedOut: false });
    });

    it('validates the event and delivery documents the outbox writes', async () => {
      const event = newEvent(LifecycleEventType.returningUser, 'p9', T0, { previous_patient_id: 'p1', detected_at: T0 });
      const [doc] = toOutboxEventDocuments([event], new Map());
      await new models.events(doc).validate();
      await new models.events({ ...doc, data: {} }).validate();
      await new models.deliveries(newDelivery(doc!, A)).validate();
    });

    it('rejects a bad instant, a fractional sequence and data that is not an object', async () => {
      const [doc] = toOutboxEventDocuments([newEvent(LifecycleEventType.anonymized, 'p1', T0)], new Map());
      const bad = new models.events({ ...doc, occurredAt: '2026-01-01', patientSeq: 1.5, data: ['x'] });
      const err = await bad.validate().then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(mongoose.Error.ValidationError);
      expect(Object.keys((err as mongoose.Error.ValidationError).errors).sort()).to.deep.equal(['data', 'occurredAt', 'patientSeq']);
    });
  });

  describe('indexes', () => {
    it('declares on each schema exactly the listed indexes', () => {
      for (const [schema, list] of [
        [outboxEventSchema, outboxEventIndexes],
        [outboxDeliverySchema, outboxDeliveryIndexes],
      ] as const) {
        expect(schema.indexes()).to.deep.equal(list.map((index) => [index.fields, index.options ?? {}]));
      }
    });

    it('has an index for fan-out, claims, the order check and the delivery key', () => {
      expect(hasIndexFor(outboxEventIndexes, Object.keys(FAN_OUT_SORT))).to.equal(true);
      expect(outboxEventIndexes.find((i) => 'fannedOut' in i.fields)?.options?.partialFilterExpression).to.deep.equal(pendingEventsFilter);
      expect(hasIndexFor(outboxDeliveryIndexes, ['target', 'deliveredAt', ...Object.keys(CLAIM_SORT)])).to.equal(true);
      expect(hasIndexFor(outboxDeliveryIndexes, ['target', 'patientId', 'deliveredAt', 'patientSeq'])).to.equal(true);
      expect(outboxDeliveryIndexes.find((i) => hasIndexFor([i], ['eventId', 'target']))?.options).to.deep.equal({ unique: true });
    });
  });

  describe('claim filters (evaluated with mingo)', () => {
    it('matches only due, undelivered, unleased deliveries to a configured target', () => {
      const due = delivery({ patientId: 'p1', patientSeq: 1 });
      const expiredLease = delivery({ patientId: 'p2', patientSeq: 1, leaseOwner: 'x', leaseUntilMs: NOW });
      const docs = [
        due,
        expiredLease,
        delivery({ patientId: 'p3', patientSeq: 1, leaseOwner: 'x', leaseUntilMs: NOW + 1 }),
        delivery({ patientId: 'p4', patientSeq: 1, nextAttemptMs: NOW + 1 }),
        delivery({ patientId: 'p5', patientSeq: 1, deliveredAt: T0.toISOString(), lastStatus: 200 }),
        delivery({ patientId: 'p6', patientSeq: 1, target: B }),
      ];
      expect(matching(claimableFilter([A], NOW), docs)).to.deep.equal([due, expiredLease]);
      expect(matching(claimableFilter([A, B], NOW), docs)).to.have.length(3);
      expect(matching(claimableFilter([A], NOW, [due._id]), docs)).to.deep.equal([expiredLease]);
      expect(matching(claimableFilter([], NOW), docs)).to.deep.equal([]);
    });

    it('tries the longest-waiting deliveries first, a patient’s earlier events first', () => {
      const docs = [
        delivery({ patientId: 'p1', patientSeq: 2, nextAttemptMs: 5 }),
        delivery({ patientId: 'p1', patientSeq: 1, nextAttemptMs: 5 }),
        delivery({ patientId: 'p2', patientSeq: 7, nextAttemptMs: 1 }),
      ];
      const order = new Query(claimableFilter([A], NOW)).find(docs).sort(CLAIM_SORT).all() as Delivery[];
      expect(order.map((d) => `${d.patientId}#${d.patientSeq}`)).to.deep.equal(['p2#7', 'p1#1', 'p1#2']);
    });

    it('leases to one owner: a second claim no longer matches', () => {
      const leased = delivery({ patientId: 'p1', patientSeq: 1 });
      const docs = [{ ...leased } as Record<string, unknown>];
      expect(updateOne(docs, claimableFilter([A], NOW), leaseUpdate('owner-1', NOW + 30_000))).to.include({ modifiedCount: 1 });
      expect(docs[0]).to.include({ leaseOwner: 'owner-1', leaseUntilMs: NOW + 30_000, attempts: 1 });
      expect(updateOne(docs, claimableFilter([A], NOW), leaseUpdate('owner-2', NOW + 30_000))).to.include({ matchedCount: 0 });
      expect(new Query(claimableFilter([A], NOW + 30_000)).find(docs).all()).to.have.length(1);
    });

    it('finds the undelivered earlier events of the same patient and target that block a delivery', () => {
      const first = delivery({ patientId: 'p1', patientSeq: 1 });
      const second = delivery({ patientId: 'p1', patientSeq: 2 });
      const docs = [
        first,
        second,
        delivery({ patientId: 'p1', patientSeq: 1, target: B }),
        delivery({ patientId: 'p2', patientSeq: 1 }),
      ];
      expect(matching(earlierPendingFilter(second), docs)).to.deep.equal([first]);
      expect(matching(earlierPendingFilter(first), docs)).to.deep.equal([]);
      first.deliveredAt = T0.toISOString();
      expect(matching(earlierPendingFilter(second), docs)).to.deep.equal([]);
    });

    it('marks a failure only for the lease owner, and never over a delivery', () => {
      const d = delivery({ patientId: 'p1', patientSeq: 1, leaseOwner: 'owner-1', leaseUntilMs: NOW });
      const key = { eventId: d.eventId, target: d.target };
      expect(matching(pendingDeliveryFilter(key, 'owner-2'), [d])).to.deep.equal([]);
      expect(matching(pendingDeliveryFilter(key, 'owner-1'), [d])).to.deep.equal([d]);
      d.deliveredAt = T0.toISOString();
      expect(matching(pendingDeliveryFilter(key), [d])).to.deep.equal([]);
    });
  });
});
