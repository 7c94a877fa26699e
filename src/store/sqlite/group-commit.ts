import Database from 'better-sqlite3';
import { errors, ErrorCode } from '../../fhir/outcome.js';
import { guarded, toOutcomeError } from './driver-errors.js';
import type { TransactionLock } from './transaction-lock.js';

/** Whether a transaction view may still be used (it may not once its transaction has ended). */
export interface TransactionScope {
  open: boolean;
}

interface Pending<S> {
  work: (tx: S) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Limits of one batch: a write waits at most about `maxMs` for the others of its batch. */
const MAX_BATCH = 128;
const MAX_MS = 20;

/**
 * Group commit for `SqliteStore.transaction`: transactions that queue up while one runs are executed
 * one after the other inside ONE `BEGIN IMMEDIATE … COMMIT`, each in its own SAVEPOINT. A work that
 * throws is rolled back alone (to its savepoint) and rejected at once; the others answer only after
 * the shared COMMIT succeeded — if it fails, every one of them fails and nothing is persisted.
 * Same isolation as one-by-one transactions (works run strictly in sequence on one connection),
 * one WAL commit per batch instead of one per request.
 */
export class GroupCommit<S> {
  private readonly queue: Pending<S>[] = [];
  private draining = false;

  constructor(
    private readonly db: Database.Database,
    private readonly lock: TransactionLock,
    private readonly viewFor: (scope: TransactionScope) => S,
  ) {}

  submit<T>(work: (tx: S) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // Start after the current I/O phase: requests read in the same turn of the event loop
        // join this batch instead of each paying for a commit of its own.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.lock.hold(() => this.runBatch());
    } finally {
      this.draining = false;
    }
  }

  private async runBatch(): Promise<void> {
    const { db } = this;
    try {
      guarded(db, () => db.exec('BEGIN IMMEDIATE'));
    } catch (err) {
      // the write lock could not be had (another process holds it): nobody queued can run now
      for (const pending of this.queue.splice(0)) pending.reject(err);
      return;
    }
    const done: { pending: Pending<S>; result: unknown }[] = [];
    const started = Date.now();
    while (this.queue.length > 0 && done.length < MAX_BATCH && Date.now() - started < MAX_MS) {
      const pending = this.queue.shift()!;
      // The first work of a batch runs without a savepoint of its own: nothing else is in the
      // transaction yet, and SQLite's nested savepoints (the store's own, per write) get slow under
      // an enclosing one when a work writes a lot (a 1,000-entry transaction Bundle).
      const alone = done.length === 0;
      const scope: TransactionScope = { open: true };
      try {
        if (!alone) guarded(db, () => db.exec('SAVEPOINT group_commit_work'));
        const result = await pending.work(this.viewFor(scope));
        if (!alone) guarded(db, () => db.exec('RELEASE group_commit_work'));
        done.push({ pending, result });
      } catch (err) {
        pending.reject(err instanceof Database.SqliteError ? toOutcomeError(err, db) : err);
        if (alone) {
          // only this work was in the transaction: end it; the rest of the queue gets a new batch
          rollback(db);
          return;
        }
        if (!db.inTransaction) {
          // SQLite gave up the whole transaction (I/O error, full disk …): the batch so far is lost
          failAll(done, errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'The store could not complete the transaction'));
          return;
        }
        rollbackToSavepoint(db);
      } finally {
        scope.open = false;
      }
    }
    try {
      guarded(db, () => db.exec('COMMIT'));
    } catch (err) {
      rollback(db);
      failAll(done, err);
      return;
    }
    for (const { pending, result } of done) pending.resolve(result);
  }
}

function failAll<S>(done: { pending: Pending<S> }[], err: unknown): void {
  for (const { pending } of done) pending.reject(err);
}

function rollbackToSavepoint(db: Database.Database): void {
  try {
    db.exec('ROLLBACK TO group_commit_work');
    db.exec('RELEASE group_commit_work');
  } catch {
    // the savepoint is gone with the transaction; the caller checks db.inTransaction
  }
}

/** Ends an open transaction without letting a failed ROLLBACK hide the error that caused it. */
export function rollback(db: Database.Database): void {
  try {
    if (db.open && db.inTransaction) db.exec('ROLLBACK');
  } catch {
    // the connection is gone or SQLite already rolled back; the original error is what matters
  }
}
