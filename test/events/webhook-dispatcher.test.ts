import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../src/context/clock.js';
import { LifecycleEventType, newEvent } from '../../src/events/event-types.js';
import { retryDelay, WebhookDispatcher, type WebhookDispatcherOptions } from '../../src/events/webhook-dispatcher.js';
import { verifySignature, webhookPayload } from '../../src/events/webhook-message.js';
import type { LifecycleEvent } from '../../src/store/port.js';
import { SqliteOutbox } from '../../src/store/sqlite/outbox-tables.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startReceiver, type ReceivedWebhook, type WebhookReceiver } from './webhook-receiver.js';

const dir = mkdtempSync(join(tmpdir(), 'webhook-dispatcher-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'test-webhook-secret';
const BACKOFF = { baseMs: 100, maxMs: 5_000 };
const TYPES = Object.values(LifecycleEventType);

interface LogLine {
  level: string;
  message: string;
  meta?: Record<string, unknown>;
}

/** `perPatient` events for each of `patients` patients, interleaved across patients (append order). */
function eventsFor(patients: number, perPatient: number, clock: ManualClock): LifecycleEvent[] {
  const ids = Array.from({ length: patients }, () => randomUUID());
  const events: LifecycleEvent[] = [];
  for (let k = 0; k < perPatient; k++) {
    for (const id of ids) events.push(newEvent(TYPES[k % TYPES.length]!, id, clock.now(), { step: k }));
  }
  return events;
}

/** Ids of accepted deliveries per (path, patient), in arrival order. */
function acceptedOrder(received: ReceivedWebhook[]): Map<string, string[]> {
  const lanes = new Map<string, string[]>();
  for (const r of received.filter((x) => x.status < 300)) {
    const lane = `${r.path} ${String(r.body.patientId)}`;
    lanes.set(lane, [...(lanes.get(lane) ?? []), String(r.body.id)]);
  }
  return lanes;
}

function expectedOrder(events: LifecycleEvent[], paths: string[]): Map<string, string[]> {
  const lanes = new Map<string, string[]>();
  for (const path of paths) {
    for (const e of events) {
      const lane = `${path} ${e.patientId}`;
      lanes.set(lane, [...(lanes.get(lane) ?? []), e.id]);
    }
  }
  return lanes;
}

describe('WebhookDispatcher', () => {
  const stores: SqliteStore[] = [];
  let receiver: WebhookReceiver | undefined;
  let logs: LogLine[];
  const logger = {
    info: (message: string, meta?: Record<string, unknown>) => logs.push({ level: 'info', message, meta }),
    warn: (message: string, meta?: Record<string, unknown>) => logs.push({ level: 'warn', message, meta }),
    error: (message: string, meta?: Record<string, unknown>) => logs.push({ level: 'error', message, meta }),
  };
  const openStore = (file = join(dir, `${randomUUID()}.sqlite`)) => {
    const store = SqliteStore.open(file);
    stores.push(store);
    return store;
  };
  const dispatcher = (store: SqliteStore, clock: ManualClock, over: Partial<WebhookDispatcherOptions> = {}) =>
    new WebhookDispatcher({
      outbox: new SqliteOutbox(store),
      targets: [`${receiver!.url}/a`],
      secret: SECRET,
      clock,
      logger,
      backoff: BACKOFF,
      batchSize: 50,
      timeoutMs: 5_000,
      ...over,
    });

  beforeEach(() => {
    logs = [];
  });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('POSTs the JSON payload signed with the secret over the raw body', async () => {
    receiver = await startReceiver();
    const clock = new ManualClock();
    const store = openStore();
    const event = newEvent(LifecycleEventType.softDeleted, randomUUID(), clock.now(), { reason: 'user-request' });
    await store.appendEvents([event]);
    expect(await dispatcher(store, clock).deliverDue()).to.equal(1);
    const [got] = receiver.received;
    expect(got?.headers['content-type']).to.equal('application/json');
    expect(got?.body).to.deep.equal(webhookPayload(event));
    expect(verifySignature(got!.rawBody, got!.headers['x-signature'] as string, SECRET)).to.equal(true);
    expect(verifySignature(got!.rawBody, got!.headers['x-signature'] as string, 'another-secret')).to.equal(false);
  });

  it('delivers every event to every target in order per patient while the receiver is down, then up', async () => {
    receiver = await startReceiver((n) => (n < 25 ? 503 : 200));
    const clock = new ManualClock();
    const store = openStore();
    const events = eventsFor(6, 4, clock);
    await store.transaction(async (tx) => tx.appendEvents(events));
    const paths = ['/a', '/b'];
    const d = dispatcher(store, clock, { targets: paths.map((p) => receiver!.url + p), batchSize: 7 });
    for (let round = 0; round < 200 && receiver.accepted().length < events.length * paths.length; round++) {
      await d.deliverDue();
      clock.advance(BACKOFF.maxMs);
    }
    const accepted = receiver.accepted();
    for (const path of paths) {
      const ids = new Set(accepted.filter((r) => r.path === path).map((r) => r.body.id));
      expect(ids.size, path).to.equal(events.length);
    }
    expect(acceptedOrder(receiver.received)).to.deep.equal(expectedOrder(events, paths));
    expect(receiver.received.filter((r) => r.status === 503)).to.have.length(25);
    expect(await d.backlog()).to.equal(0);
  });

  it('waits longer after each failure, up to the maximum', async () => {
    receiver = await startReceiver(() => 503);
    const clock = new ManualClock();
    const store = openStore();
    await store.appendEvents([newEvent(LifecycleEventType.anonymized, randomUUID(), clock.now())]);
    const d = dispatcher(store, clock);
    const nextAttempt = () =>
      store.withDb((db) => (db.prepare('SELECT next_attempt_at AS at FROM outbox_delivery').get() as { at: number }).at);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      expect(await d.deliverDue()).to.equal(0);
      const at = await nextAttempt();
      delays.push(at - clock.now().getTime());
      clock.set(new Date(at - 1));
      await d.deliverDue(); // not due yet: nothing is sent
      expect(receiver.received).to.have.length(attempt);
      clock.set(new Date(at));
    }
    // uncapped steps 100, 200, … 3200 ms: each delay at least the previous one
    expect(delays[0]).to.be.within(BACKOFF.baseMs / 2, BACKOFF.baseMs);
    for (let i = 1; i < 6; i++) expect(delays[i]).to.be.at.least(delays[i - 1]!);
    // then capped: half the maximum plus jitter
    for (const capped of delays.slice(6)) expect(capped).to.be.within(BACKOFF.maxMs / 2, BACKOFF.maxMs);
  });

  it('computes exponential delays with equal jitter', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, BACKOFF, () => 0))).to.deep.equal([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((n) => retryDelay(n, BACKOFF, () => 0.999999))).to.deep.equal([100, 200, 400, 800]);
    expect(retryDelay(40, BACKOFF, () => 0)).to.equal(2_500);
  });

  it('retries after a network error and logs only ids, types and statuses', async () => {
    receiver = await startReceiver();
    const clock = new ManualClock();
    const store = openStore();
    const event = newEvent(LifecycleEventType.investigationStarted, randomUUID(), clock.now());
    await store.appendEvents([event]);
    const d = dispatcher(store, clock, { targets: ['http://127.0.0.1:1/unreachable'] });
    expect(await d.deliverDue()).to.equal(0);
    expect(logs).to.have.length(1);
    expect(logs[0]?.meta).to.include({ eventId: event.id, eventType: event.type, status: null, attempts: 1 });
    expect(Object.keys(logs[0]!.meta!).sort()).to.deep.equal(['attempts', 'eventId', 'eventType', 'retryInMs', 'status', 'target']);
    expect(await d.backlog()).to.equal(1);
  });

  it('delivers each event once with two dispatchers on two connections to one SQLite file', async () => {
    receiver = await startReceiver();
    const clock = new ManualClock();
    const file = join(dir, `${randomUUID()}.sqlite`);
    const [one, two] = [openStore(file), openStore(file)];
    const events = eventsFor(10, 3, clock);
    await one.appendEvents(events);
    const targets = [`${receiver.url}/a`, `${receiver.url}/b`];
    const dispatchers = [dispatcher(one, clock, { targets, batchSize: 8 }), dispatcher(two, clock, { targets, batchSize: 8 })];
    for (let round = 0; round < 100 && receiver.received.length < events.length * 2; round++) {
      await Promise.all(dispatchers.map((d) => d.deliverDue()));
    }
    expect(receiver.received).to.have.length(events.length * 2);
    expect(acceptedOrder(receiver.received)).to.deep.equal(expectedOrder(events, ['/a', '/b']));
    expect(await dispatchers[1]!.backlog()).to.equal(0);
  });

  it('delivers in the background once started and finishes in-flight deliveries on stop', async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    receiver = await startReceiver(async () => {
      arrived();
      await released;
      return 204;
    });
    const clock = new ManualClock();
    const store = openStore();
    await store.appendEvents([newEvent(LifecycleEventType.investigationEnded, randomUUID(), clock.now())]);
    const d = dispatcher(store, clock);
    d.start(60_000);
    await arrival;
    let stopped = false;
    const stopping = d.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).to.equal(false);
    release();
    await stopping;
    expect(await d.backlog()).to.equal(0);
    expect(receiver.received.map((r) => r.status)).to.deep.equal([204]);
  });
});
