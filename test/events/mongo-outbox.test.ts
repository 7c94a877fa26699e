import { expect } from 'chai';
import { Query, updateOne } from 'mingo';
import { Types } from 'mongoose';
import mongoose from 'mongoose';
import { LifecycleEventType, newEvent } from '../../src/events/event-types.js';
import {
  CLAIM_SORT,
  MongoOutbox,
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
import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { ManualClock } from '../../src/context/clock.js';
import { WebhookDispatcher } from '../../src/events/webhook-dispatcher.js';
import { mongoSkipReason, mongoUri } from '../store/mongo-availability.js';
import { mingoOutboxModels } from './mingo-models.js';
import { startReceiver, type WebhookReceiver } from './webhook-receiver.js';

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

describe('MongoDB outbox', () => {
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

describe('MongoOutbox (on mingo collections)', () => {
  const claim = (owner: string, nowMs = NOW) => ({ targets: [A, B], now: new Date(nowMs), leaseMs: 30_000, owner, limit: 10 });
  const setup = (events: ReturnType<typeof newEvent>[]) => {
    const models = mingoOutboxModels();
    models.events.insert(toOutboxEventDocuments(events, new Map()) as unknown as Record<string, unknown>[]);
    return { models, outbox: new MongoOutbox(models) };
  };

  it('fans each event out to every target once', async () => {
    const { models, outbox } = setup([newEvent(LifecycleEventType.anonymized, 'p1', T0), newEvent(LifecycleEventType.anonymized, 'p2', T0)]);
    expect(await outbox.backlog([A, B])).to.equal(4);
    expect(await outbox.fanOut([A, B], 10)).to.equal(2);
    expect(await outbox.fanOut([A, B], 10)).to.equal(0);
    expect(models.deliveries.docs).to.have.length(4);
    expect(await outbox.backlog([A, B])).to.equal(4);
    expect(await outbox.backlog([A])).to.equal(2);
  });

  it('leases each delivery to one owner, a patient’s earlier events first', async () => {
    const [p1a, p2, p1b] = [
      newEvent(LifecycleEventType.softDeleted, 'p1', T0),
      newEvent(LifecycleEventType.softDeleted, 'p2', T0),
      newEvent(LifecycleEventType.restored, 'p1', T0),
    ];
    const { models, outbox } = setup([p1a!, p2!, p1b!]);
    await outbox.fanOut([A], 10);
    const first = await outbox.claimDue({ ...claim('owner-1'), targets: [A] });
    expect(first.map((c) => c.eventId).sort()).to.deep.equal([p1a!.id, p2!.id].sort());
    expect(first.find((c) => c.eventId === p1a!.id)?.event).to.deep.equal(p1a);
    expect(await outbox.claimDue({ ...claim('owner-2'), targets: [A] })).to.deep.equal([]);
    // the blocked delivery was handed back untouched
    expect(models.deliveries.docs.find((d) => d.eventId === p1b!.id)).to.include({ attempts: 0, leaseOwner: null });
    await outbox.markDelivered(first.find((c) => c.eventId === p1a!.id)!, { status: 200, at: T0 });
    const next = await outbox.claimDue({ ...claim('owner-2'), targets: [A] });
    expect(next.map((c) => [c.eventId, c.attempts])).to.deep.equal([[p1b!.id, 1]]);
  });

  it('retries a failed delivery once due, counting attempts', async () => {
    const { outbox } = setup([newEvent(LifecycleEventType.anonymized, 'p1', T0)]);
    await outbox.fanOut([A], 10);
    const [leased] = await outbox.claimDue(claim('owner-1'));
    await outbox.markFailed(leased!, { status: 503, nextAttemptAt: new Date(NOW + 1_000) });
    expect(await outbox.claimDue(claim('owner-1', NOW + 999))).to.deep.equal([]);
    const [again] = await outbox.claimDue(claim('owner-2', NOW + 1_000));
    expect(again?.attempts).to.equal(2);
    await outbox.markFailed(leased!, { status: 500, nextAttemptAt: new Date(NOW) }); // not the owner any more: ignored
    await outbox.markDelivered(again!, { status: 204, at: T0 });
    expect(await outbox.backlog([A])).to.equal(0);
  });

  it('delivers every event once, in order per patient, with two dispatchers and a receiver down, then up', async () => {
    const receiver = await startReceiver((n) => (n < 10 ? 503 : 200));
    try {
      const clock = new ManualClock();
      const patients = ['p1', 'p2', 'p3', 'p4', 'p5'];
      const events = [0, 1, 2].flatMap((k) => patients.map((p) => newEvent(LifecycleEventType.investigationStarted, p, clock.now(), { step: k })));
      const { models } = setup(events);
      const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
      const dispatchers = ['d1', 'd2'].map(
        (owner) =>
          new WebhookDispatcher({
            outbox: new MongoOutbox(models),
            targets: [`${receiver.url}/a`],
            secret: 's',
            clock,
            logger,
            backoff: { baseMs: 10, maxMs: 100 },
            batchSize: 4,
            owner,
          }),
      );
      for (let round = 0; round < 100 && receiver.accepted().length < events.length; round++) {
        await Promise.all(dispatchers.map((d) => d.deliverDue()));
        clock.advance(100);
      }
      const accepted = receiver.accepted().map((r) => r.body);
      expect(accepted).to.have.length(events.length);
      expect(new Set(accepted.map((b) => b.id)).size).to.equal(events.length);
      for (const p of patients) {
        expect(accepted.filter((b) => b.patientId === p).map((b) => b.step)).to.deep.equal([0, 1, 2]);
      }
    } finally {
      await receiver.close();
    }
  });
});

const skipReason = mongoSkipReason();

describe('MongoDB outbox on a server', () => {
  if (skipReason) {
    it.skip(skipReason);
    return;
  }
  const dbName = `fhir_outbox_test_${process.pid}`;
  let server: { uri: string; stop(): Promise<void> } | undefined;
  const stores: MongoStore[] = [];
  let receiver: WebhookReceiver | undefined;
  before(async function () {
    this.timeout(120_000);
    const found = await mongoUri();
    if ('skip' in found) throw new Error(found.skip);
    server = found;
  });
  after(async () => server?.stop());
  const open = async () => {
    const store = await MongoStore.connect(server!.uri, { dbName, serverSelectionTimeoutMS: 5000 });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
    await stores[0]?.models.patients.db.dropDatabase();
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('keeps no event of a transaction that rolls back, and numbers committed ones per patient', async () => {
    const store = await open();
    const failure = await store
      .transaction(async (tx) => {
        await tx.appendEvents([newEvent(LifecycleEventType.softDeleted, 'p1', T0)]);
        throw new Error('abort');
      })
      .catch((e: unknown) => e);
    expect((failure as Error).message).to.equal('abort');
    const outbox = bindOutboxModels(store.models.patients.db);
    expect(await outbox.events.countDocuments()).to.equal(0);
    await store.transaction(async (tx) => tx.appendEvents([newEvent(LifecycleEventType.softDeleted, 'p1', T0)]));
    await store.transaction(async (tx) => tx.appendEvents([newEvent(LifecycleEventType.restored, 'p1', T0)]));
    const seqs = (await outbox.events.find().sort({ patientSeq: 1 }).lean()).map((e) => [e.type, e.patientSeq]);
    expect(seqs).to.deep.equal([
      [LifecycleEventType.softDeleted, 1],
      [LifecycleEventType.restored, 2],
    ]);
  });

  it('delivers each event once, in order per patient, with two dispatchers on two connections', async () => {
    receiver = await startReceiver((n) => (n % 3 === 0 ? 503 : 200));
    const [one, two] = [await open(), await open()];
    const clock = new ManualClock();
    const patients = ['p1', 'p2', 'p3', 'p4'];
    const events = [0, 1, 2].flatMap((k) => patients.map((p) => newEvent(LifecycleEventType.investigationStarted, p, clock.now(), { step: k })));
    for (const e of events) await one.transaction(async (tx) => tx.appendEvents([e]));
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const dispatchers = [one, two].map(
      (store) =>
        new WebhookDispatcher({
          outbox: new MongoOutbox(store),
          targets: [`${receiver!.url}/a`],
          secret: 's',
          clock,
          logger,
          backoff: { baseMs: 10, maxMs: 100 },
          batchSize: 5,
        }),
    );
    for (let round = 0; round < 100 && receiver.accepted().length < events.length; round++) {
      await Promise.all(dispatchers.map((d) => d.deliverDue()));
      clock.advance(100);
    }
    const accepted = receiver.accepted().map((r) => r.body);
    expect(new Set(accepted.map((b) => b.id)).size).to.equal(events.length);
    expect(accepted).to.have.length(events.length);
    for (const p of patients) {
      expect(accepted.filter((b) => b.patientId === p).map((b) => b.step)).to.deep.equal([0, 1, 2]);
    }
    expect(await dispatchers[0]!.backlog()).to.equal(0);
  });
});
