import { expect } from 'chai';
import { ManualClock } from '../../src/context/clock.js';
import { LifecycleEventType, newEvent } from '../../src/events/event-types.js';
import { WebhookDispatcher } from '../../src/events/webhook-dispatcher.js';
import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { MongoOutbox } from '../../src/store/mongo/outbox-delivery.js';
import { bindOutboxModels, toOutboxEventDocuments } from '../../src/store/mongo/outbox.js';
import { mongoSkipReason, mongoUri } from '../store/mongo-availability.js';
import { mingoOutboxModels } from './mingo-models.js';
import { startReceiver, type WebhookReceiver } from './webhook-receiver.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const NOW = T0.getTime() + 60_000;
const [A, B] = ['http://receiver.test/a', 'http://receiver.test/b'];

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
