import type { Database } from 'better-sqlite3';
import type { ClaimedDelivery, ClaimRequest, DeliveryKey, OutboxStore } from '../../events/outbox-port.js';
import type { LifecycleEvent } from '../port.js';

/**
 * The transactional outbox on SQLite (SPEC §7):
 * - `outbox_event`: one row per lifecycle event, appended in the transaction of the change it
 *   reports. `seq` (AUTOINCREMENT, never reused) is commit order: SQLite has one writer at a time.
 *   `fanned_out` turns 1 once the event has its deliveries.
 * - `outbox_delivery`: one row per (event, target URL), carrying the retry state and the lease.
 *   `patient_id` is copied from the event so the "earlier event of this patient still undelivered"
 *   check is one indexed lookup. Times the dispatcher compares (`next_attempt_at`, `lease_until`)
 *   are epoch ms from the injected clock; `delivered_at` is an ISO instant for people.
 */
export function createOutboxTables(db: Database): void {
  db.exec(`
    CREATE TABLE outbox_event (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL,
      patient_id TEXT NOT NULL,
      occurred_at TEXT NOT NULL,
      data TEXT NOT NULL,
      fanned_out INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX outbox_event_pending ON outbox_event (seq) WHERE fanned_out = 0;
    CREATE INDEX outbox_event_patient ON outbox_event (patient_id, seq);

    CREATE TABLE outbox_delivery (
      event_seq INTEGER NOT NULL REFERENCES outbox_event (seq) ON DELETE CASCADE,
      target TEXT NOT NULL,
      patient_id TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL DEFAULT 0,
      lease_until INTEGER,
      lease_owner TEXT,
      delivered_at TEXT,
      last_status INTEGER,
      PRIMARY KEY (event_seq, target)
    ) STRICT;
    CREATE INDEX outbox_delivery_due ON outbox_delivery (target, next_attempt_at, event_seq) WHERE delivered_at IS NULL;
    CREATE INDEX outbox_delivery_lane ON outbox_delivery (target, patient_id, event_seq) WHERE delivered_at IS NULL;
  `);
}

interface EventRow {
  seq: number;
  id: string;
  type: string;
  patient_id: string;
  occurred_at: string;
  data: string;
}

const tables = new WeakMap<Database, OutboxTables>();

/** The outbox writer of one connection, with statements prepared once per connection. */
export function outboxTables(db: Database): OutboxTables {
  let found = tables.get(db);
  if (!found) tables.set(db, (found = new OutboxTables(db)));
  return found;
}

/** Writes events to `outbox_event`; used by `SqliteStore.appendEvents` on its own connection. */
export class OutboxTables {
  private readonly insert;
  private readonly appendAll;

  constructor(db: Database) {
    this.insert = db.prepare(
      'INSERT INTO outbox_event (id, type, patient_id, occurred_at, data) VALUES (?, ?, ?, ?, ?)',
    );
    // a SAVEPOINT inside an open transaction, its own transaction otherwise: all events or none
    this.appendAll = db.transaction((events: readonly LifecycleEvent[]) => {
      for (const e of events) this.insert.run(e.id, e.type, e.patientId, e.occurredAt, JSON.stringify(e.data));
    });
  }

  append(events: readonly LifecycleEvent[]): void {
    if (events.length > 0) this.appendAll(events);
  }
}

/** How {@link SqliteOutbox} reaches the database: a `SqliteStore` (its `db`, and `withDb` for the lock). */
export interface SqliteConnection {
  readonly db: Database;
  withDb<T>(call: (db: Database) => T): Promise<T>;
}

const TARGETS = 'SELECT value FROM json_each(@targets)';
const PENDING_EVENTS = 'SELECT seq, patient_id FROM outbox_event WHERE fanned_out = 0 ORDER BY seq LIMIT @limit';
const BY_EVENT_ID = 'event_seq = (SELECT seq FROM outbox_event WHERE id = @eventId) AND target = @target';

/**
 * {@link OutboxStore} on SQLite. Every call goes through `withDb`, so it waits for an open
 * `SqliteStore.transaction` of this process; other processes on the same file are serialized by
 * `BEGIN IMMEDIATE`. A claim is one `UPDATE … RETURNING` under the write lock: two dispatchers, in
 * one process or several, never lease the same row.
 */
export class SqliteOutbox implements OutboxStore {
  private readonly sql;

  constructor(private readonly connection: SqliteConnection) {
    const db = connection.db;
    this.sql = {
      fanOutInsert: db.prepare(
        `INSERT OR IGNORE INTO outbox_delivery (event_seq, target, patient_id)
         SELECT e.seq, t.value, e.patient_id FROM (${PENDING_EVENTS}) AS e CROSS JOIN (${TARGETS}) AS t`,
      ),
      fanOutMark: db.prepare(`UPDATE outbox_event SET fanned_out = 1 WHERE seq IN (SELECT seq FROM (${PENDING_EVENTS}))`),
      claim: db.prepare<Record<string, unknown>, { event_seq: number; target: string; attempts: number }>(
        `UPDATE outbox_delivery
         SET lease_until = @leaseUntil, lease_owner = @owner, attempts = attempts + 1
         WHERE rowid IN (
           SELECT d.rowid FROM outbox_delivery AS d
           WHERE d.delivered_at IS NULL AND d.target IN (${TARGETS})
             AND d.next_attempt_at <= @now AND (d.lease_until IS NULL OR d.lease_until <= @now)
             AND NOT EXISTS (
               SELECT 1 FROM outbox_delivery AS p
               WHERE p.target = d.target AND p.patient_id = d.patient_id
                 AND p.event_seq < d.event_seq AND p.delivered_at IS NULL)
           ORDER BY d.event_seq LIMIT @limit)
         RETURNING event_seq, target, attempts`,
      ),
      events: db.prepare<[string], EventRow>(
        'SELECT seq, id, type, patient_id, occurred_at, data FROM outbox_event WHERE seq IN (SELECT value FROM json_each(?))',
      ),
      delivered: db.prepare(
        `UPDATE outbox_delivery SET delivered_at = @at, last_status = @status, lease_until = NULL, lease_owner = NULL
         WHERE ${BY_EVENT_ID} AND delivered_at IS NULL`,
      ),
      failed: db.prepare(
        `UPDATE outbox_delivery SET next_attempt_at = @next, last_status = @status, lease_until = NULL, lease_owner = NULL
         WHERE ${BY_EVENT_ID} AND delivered_at IS NULL AND lease_owner = @owner`,
      ),
      backlog: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT (SELECT count(*) FROM outbox_delivery WHERE delivered_at IS NULL AND target IN (${TARGETS}))
              + (SELECT count(*) FROM outbox_event WHERE fanned_out = 0) * @targetCount AS n`,
      ),
    };
  }

  fanOut(targets: readonly string[], limit: number): Promise<number> {
    if (targets.length === 0 || limit <= 0) return Promise.resolve(0);
    const params = { targets: JSON.stringify(targets), limit };
    return this.connection.withDb((db) =>
      db
        .transaction(() => {
          this.sql.fanOutInsert.run(params);
          return this.sql.fanOutMark.run({ limit }).changes;
        })
        .immediate(),
    );
  }

  claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    if (request.targets.length === 0 || request.limit <= 0) return Promise.resolve([]);
    const now = request.now.getTime();
    return this.connection.withDb((db) =>
      db
        .transaction(() => {
          const leased = this.sql.claim.all({
            targets: JSON.stringify(request.targets),
            now,
            leaseUntil: now + request.leaseMs,
            owner: request.owner,
            limit: request.limit,
          });
          const rows = this.sql.events.all(JSON.stringify(leased.map((l) => l.event_seq)));
          const bySeq = new Map(rows.map((r) => [r.seq, r]));
          return leased
            .sort((a, b) => a.event_seq - b.event_seq)
            .map((l): ClaimedDelivery => {
              const row = bySeq.get(l.event_seq)!;
              return { eventId: row.id, target: l.target, owner: request.owner, attempts: l.attempts, event: toEvent(row) };
            });
        })
        .immediate(),
    );
  }

  async markDelivered(delivery: DeliveryKey, outcome: { status: number; at: Date }): Promise<void> {
    await this.connection.withDb(() =>
      this.sql.delivered.run({ ...keyParams(delivery), at: outcome.at.toISOString(), status: outcome.status }),
    );
  }

  async markFailed(delivery: DeliveryKey, outcome: { status: number | null; nextAttemptAt: Date }): Promise<void> {
    await this.connection.withDb(() =>
      this.sql.failed.run({
        ...keyParams(delivery),
        owner: delivery.owner,
        next: outcome.nextAttemptAt.getTime(),
        status: outcome.status,
      }),
    );
  }

  backlog(targets: readonly string[]): Promise<number> {
    const params = { targets: JSON.stringify(targets), targetCount: targets.length };
    return this.connection.withDb(() => this.sql.backlog.get(params)?.n ?? 0);
  }
}

function keyParams(delivery: DeliveryKey): { eventId: string; target: string } {
  return { eventId: delivery.eventId, target: delivery.target };
}

function toEvent(row: EventRow): LifecycleEvent {
  return {
    id: row.id,
    type: row.type,
    patientId: row.patient_id,
    occurredAt: row.occurred_at,
    data: JSON.parse(row.data) as LifecycleEvent['data'],
  };
}
