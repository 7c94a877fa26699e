import type { LifecycleEvent } from '../store/port.js';

/**
 * The delivery side of the transactional outbox, implemented once per engine
 * (`SqliteOutbox` in `store/sqlite/outbox-tables.ts`, `MongoOutbox` in `store/mongo/outbox-delivery.ts`). Events are written by
 * `PatientStore.appendEvents` inside the transaction of the change they report; this port turns
 * them into one delivery per (event, target URL) and hands those out under a lease.
 *
 * Rules every engine keeps:
 * - **Fan-out.** {@link OutboxStore.fanOut} gives each not yet fanned-out event one delivery per
 *   target configured *now*, oldest first, and marks the event fanned out. Idempotent: several
 *   processes may run it at once. A target added later receives only later events; deliveries of a
 *   target removed from the configuration stay in the store and are simply never claimed.
 * - **Leases.** {@link OutboxStore.claimDue} atomically leases due deliveries to one `owner` until
 *   `now + leaseMs`, so several processes never hold the same (event, target) at once. A crashed
 *   holder's lease expires and the delivery is claimed again (at-least-once).
 * - **Order per patient and target.** A delivery is only claimable when every earlier event of the
 *   same patient has been delivered to the same target. So at most one delivery per (patient,
 *   target) is ever leased.
 */
export interface OutboxStore {
  /** Creates the deliveries of up to `limit` not yet fanned-out events; returns how many events. */
  fanOut(targets: readonly string[], limit: number): Promise<number>;

  /** Leases up to `request.limit` due deliveries, oldest event first; `attempts` counts this one. */
  claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]>;

  /** Records a successful delivery (whoever holds the lease: delivered is final). */
  markDelivered(delivery: DeliveryKey, outcome: { status: number; at: Date }): Promise<void>;

  /**
   * Records a failed attempt and when to try again, and releases the lease — only if `owner`
   * still holds it and the delivery is not delivered meanwhile.
   */
  markFailed(delivery: DeliveryKey, outcome: { status: number | null; nextAttemptAt: Date }): Promise<void>;

  /** Pending work for `targets`: undelivered deliveries plus one per target for each event not fanned out. */
  backlog(targets: readonly string[]): Promise<number>;
}

/** What to lease. */
export interface ClaimRequest {
  /** Only deliveries to these URLs (the configured ones). */
  targets: readonly string[];
  now: Date;
  /** How long the lease lasts; longer than one request's timeout. */
  leaseMs: number;
  /** Identifies the claiming dispatcher (a UUID per process). */
  owner: string;
  limit: number;
}

/** Identifies one leased delivery. */
export interface DeliveryKey {
  eventId: string;
  target: string;
  owner: string;
}

/** A leased delivery: the event to send, where, and how many attempts (this one included). */
export interface ClaimedDelivery extends DeliveryKey {
  event: LifecycleEvent;
  attempts: number;
}
