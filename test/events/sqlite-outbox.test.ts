import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LifecycleEventType, newEvent } from '../../src/events/event-types.js';
import type { ClaimRequest } from '../../src/events/outbox-port.js';
import { SqliteOutbox } from '../../src/store/sqlite/outbox-tables.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { buildRecord, samplePatient } from '../store/record-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'sqlite-outbox-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = new Date('2026-01-01T00:00:00.000Z');
const TARGETS = ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'];
const claim = (over: Partial<ClaimRequest> = {}): ClaimRequest => ({
  targets: TARGETS,
  now: T0,
  leaseMs: 30_000,
  owner: 'owner-1',
  limit: 100,
  ...over,
});

const eventCount = (store: SqliteStore) =>
  store.withDb((db) => (db.prepare('SELECT count(*) AS n FROM outbox_event').get() as { n: number }).n);

describe('SQLite outbox', () => {
  let store: SqliteStore;
  let outbox: SqliteOutbox;
  beforeEach(() => {
    store = SqliteStore.open(join(dir, `${randomUUID()}.sqlite`));
    outbox = new SqliteOutbox(store);
  });
  afterEach(() => store.close());

  describe('appendEvents', () => {
    it('commits events with the change they report', async () => {
      const record = buildRecord(samplePatient(0), { id: randomUUID() });
      await store.transaction(async (tx) => {
        await tx.create(record);
        await tx.appendEvents([newEvent(LifecycleEventType.softDeleted, record.resource.id, T0, { reason: 'user-request' })]);
      });
      expect(await eventCount(store)).to.equal(1);
    });

    it('leaves no event when the transaction rolls back', async () => {
      const record = buildRecord(samplePatient(1), { id: randomUUID() });
      const failure = await store
        .transaction(async (tx) => {
          await tx.create(record);
          await tx.appendEvents([newEvent(LifecycleEventType.softDeleted, record.resource.id, T0)]);
          throw new Error('abort');
        })
        .catch((e: unknown) => e);
      expect((failure as Error).message).to.equal('abort');
      expect(await eventCount(store)).to.equal(0);
      expect(await store.read(record.resource.id)).to.equal(undefined);
    });

    it('appends all events of one call or none', async () => {
      const first = newEvent(LifecycleEventType.restored, 'p1', T0);
      await store.appendEvents([first]);
      const clash = { ...newEvent(LifecycleEventType.restored, 'p1', T0), id: first.id };
      await store.appendEvents([newEvent(LifecycleEventType.restored, 'p1', T0), clash]).catch(() => undefined);
      expect(await eventCount(store)).to.equal(1);
    });
  });

  describe('delivery', () => {
    it('fans each event out to every target once and leases it to one owner', async () => {
      await store.appendEvents([newEvent(LifecycleEventType.anonymized, 'p1', T0), newEvent(LifecycleEventType.anonymized, 'p2', T0)]);
      expect(await outbox.fanOut(TARGETS, 10)).to.equal(2);
      expect(await outbox.fanOut(TARGETS, 10)).to.equal(0);
      expect(await outbox.backlog(TARGETS)).to.equal(4);
      const first = await outbox.claimDue(claim());
      expect(first).to.have.length(4);
      expect(first.every((c) => c.attempts === 1 && c.owner === 'owner-1')).to.equal(true);
      expect(await outbox.claimDue(claim({ owner: 'owner-2' }))).to.deep.equal([]);
      // once the lease has run out, another owner may take it over
      const later = await outbox.claimDue(claim({ owner: 'owner-2', now: new Date(T0.getTime() + 30_000) }));
      expect(later.map((c) => c.attempts)).to.deep.equal([2, 2, 2, 2]);
    });

    it('counts events not fanned out yet in the backlog', async () => {
      await store.appendEvents([newEvent(LifecycleEventType.anonymized, 'p1', T0)]);
      expect(await outbox.backlog(TARGETS)).to.equal(2);
    });

    it('holds a later event of a patient until the earlier one is delivered to that target', async () => {
      const [e1, e2] = [newEvent(LifecycleEventType.softDeleted, 'p1', T0), newEvent(LifecycleEventType.restored, 'p1', T0)];
      await store.appendEvents([e1, e2]);
      await outbox.fanOut(TARGETS, 10);
      const heads = await outbox.claimDue(claim());
      expect(heads.map((c) => c.eventId)).to.deep.equal([e1.id, e1.id]);
      const [toA, toB] = heads;
      await outbox.markDelivered(toA!, { status: 200, at: T0 });
      await outbox.markFailed(toB!, { status: 503, nextAttemptAt: new Date(T0.getTime() + 1000) });
      const next = await outbox.claimDue(claim({ now: new Date(T0.getTime() + 1000) }));
      expect(next.map((c) => [c.eventId, c.target])).to.deep.equal([
        [e1.id, TARGETS[1]],
        [e2.id, TARGETS[0]],
      ]);
    });

    it('returns the event as appended', async () => {
      const event = newEvent(LifecycleEventType.returningUser, 'p9', T0, {
        new_patient_id: 'p9',
        previous_patient_id: 'p1',
        detected_at: T0,
        previous_anonymized_at: null,
      });
      await store.appendEvents([event]);
      await outbox.fanOut(TARGETS.slice(0, 1), 10);
      const [only] = await outbox.claimDue(claim());
      expect(only?.event).to.deep.equal(event);
    });

    it('keeps a failure from undoing a delivery or touching another owner’s lease', async () => {
      const event = newEvent(LifecycleEventType.anonymized, 'p1', T0);
      await store.appendEvents([event]);
      await outbox.fanOut(TARGETS.slice(0, 1), 10);
      const [leased] = await outbox.claimDue(claim());
      await outbox.markFailed({ ...leased!, owner: 'someone-else' }, { status: 500, nextAttemptAt: T0 });
      expect(await outbox.claimDue(claim({ owner: 'owner-2' }))).to.deep.equal([]);
      await outbox.markDelivered(leased!, { status: 204, at: T0 });
      await outbox.markFailed(leased!, { status: 500, nextAttemptAt: T0 });
      expect(await outbox.backlog(TARGETS.slice(0, 1))).to.equal(0);
    });

    it('ignores deliveries to targets no longer configured', async () => {
      await store.appendEvents([newEvent(LifecycleEventType.anonymized, 'p1', T0)]);
      await outbox.fanOut(TARGETS, 10);
      const claims = await outbox.claimDue(claim({ targets: TARGETS.slice(1) }));
      expect(claims.map((c) => c.target)).to.deep.equal([TARGETS[1]]);
    });
  });
});
