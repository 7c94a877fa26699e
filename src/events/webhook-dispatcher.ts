import { randomUUID } from 'node:crypto';
import type { Clock } from '../context/clock.js';
import type { ClaimedDelivery, OutboxStore } from './outbox-port.js';
import { SIGNATURE_HEADER, signBody, webhookBody } from './webhook-message.js';

/** Exponential backoff bounds: the n-th failure waits about `baseMs · 2^(n-1)`, never more than `maxMs`. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** The log calls the dispatcher makes (a winston `Logger` fits). Only event ids, types and statuses are logged. */
export interface DispatcherLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface WebhookDispatcherOptions {
  outbox: OutboxStore;
  /** Receiver URLs (`EVENT_WEBHOOK_URLS`). With none, the dispatcher does nothing. */
  targets: readonly string[];
  /** HMAC key of `X-Signature` (`EVENT_WEBHOOK_SECRET`). */
  secret: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Decides leases and retry times (never sleeps on it). */
  clock: Clock;
  logger: DispatcherLogger;
  backoff: Backoff;
  /** Most deliveries leased (and sent in parallel) per round. */
  batchSize: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** Lease length (default three request timeouts): a crashed dispatcher's deliveries are retried after it. */
  leaseMs?: number;
  /** Lease owner id (default a random UUID). */
  owner?: string;
  /** Jitter source in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/**
 * The delay before attempt `attempts + 1` after `attempts` failed ones: exponential with "equal
 * jitter" — half the capped exponential step, plus a random part of the other half. So delays grow
 * (each lower bound doubles) while several failing dispatchers spread out.
 */
export function retryDelay(attempts: number, backoff: Backoff, random: () => number = Math.random): number {
  const step = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Delivers outbox events to the webhook URLs (SPEC §7): `POST` of the JSON payload with
 * `Content-Type: application/json` and `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
 * At-least-once: a delivery counts only after a 2xx answer; non-2xx answers (redirects included),
 * network errors and timeouts are retried with {@link retryDelay}, forever. In order per patient
 * and target: the outbox never leases an event while an earlier one of the same patient is
 * undelivered to that target. Failures are logged with event ids and types only, never thrown
 * into a request: this runs beside the API, in the background.
 */
export class WebhookDispatcher {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;
  private readonly owner: string;
  private readonly random: () => number;
  private readonly rounds = new Set<Promise<number>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.leaseMs = options.leaseMs ?? 3 * this.timeoutMs;
    this.owner = options.owner ?? randomUUID();
    this.random = options.random ?? Math.random;
  }

  /**
   * Runs {@link deliverDue} every `intervalMs` (at once again when a round filled its batch) until
   * {@link stop}. Round failures (store unavailable) are logged and the next round tries again.
   */
  start(intervalMs: number): void {
    if (this.running || this.options.targets.length === 0) return;
    this.running = true;
    const tick = async (): Promise<void> => {
      this.timer = undefined;
      let delivered = 0;
      try {
        delivered = await this.deliverDue();
      } catch (err) {
        this.options.logger.error('outbox round failed', { owner: this.owner, error: errorName(err) });
      }
      if (this.running) this.schedule(tick, delivered >= this.options.batchSize ? 0 : intervalMs);
    };
    this.schedule(tick, 0);
  }

  /** Stops the loop and waits for the deliveries in flight to finish (each bounded by the timeout). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.rounds.size > 0) await Promise.allSettled([...this.rounds]);
  }

  /**
   * One round: fans out new events, leases up to `batchSize` due deliveries, sends them in
   * parallel and records each outcome. Returns how many were delivered. Rejects only when the
   * outbox itself fails (HTTP failures are recorded, not thrown).
   */
  deliverDue(): Promise<number> {
    const round = this.round();
    this.rounds.add(round);
    const forget = () => this.rounds.delete(round);
    round.then(forget, forget);
    return round;
  }

  /** Pending deliveries to the configured targets (for the `outbox backlog` metric). */
  backlog(): Promise<number> {
    return this.options.outbox.backlog(this.options.targets);
  }

  private async round(): Promise<number> {
    const { outbox, targets, batchSize, clock } = this.options;
    if (targets.length === 0) return 0;
    await outbox.fanOut(targets, batchSize);
    const claims = await outbox.claimDue({ targets, now: clock.now(), leaseMs: this.leaseMs, owner: this.owner, limit: batchSize });
    // settle every delivery before reporting a store failure, so stop() really waits for all of them
    const outcomes = await Promise.allSettled(claims.map((claim) => this.deliver(claim)));
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
    return outcomes.filter((o) => o.status === 'fulfilled' && o.value).length;
  }

  private async deliver(claim: ClaimedDelivery): Promise<boolean> {
    const { outbox, clock, logger, secret } = this.options;
    const body = webhookBody(claim.event);
    let status: number | null = null;
    try {
      const response = await this.fetch(claim.target, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signBody(body, secret) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      await response.body?.cancel().catch(() => undefined);
    } catch {
      // network error, refused connection or timeout: retried like a non-2xx answer
    }
    if (status !== null && status >= 200 && status < 300) {
      await outbox.markDelivered(claim, { status, at: clock.now() });
      return true;
    }
    const delayMs = retryDelay(claim.attempts, this.options.backoff, this.random);
    await outbox.markFailed(claim, { status, nextAttemptAt: new Date(clock.now().getTime() + delayMs) });
    logger.warn('webhook delivery failed', {
      eventId: claim.eventId,
      eventType: claim.event.type,
      target: this.options.targets.indexOf(claim.target),
      status,
      attempts: claim.attempts,
      retryInMs: delayMs,
    });
    return false;
  }

  private schedule(tick: () => Promise<void>, delayMs: number): void {
    this.timer = setTimeout(() => void tick(), delayMs);
    this.timer.unref();
  }
}

/** The class name of a failure, never its message (a driver message may quote data). */
function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
