import Database from 'better-sqlite3';
import { errors } from '../../fhir/outcome.js';
import type { SearchRequest } from '../../fhir/search/types.js';
import type {
  DeletedPage,
  DeletedQuery,
  DeletionIndexEntry,
  HistoryPage,
  HistoryQuery,
  IdempotencyRecord,
  LifecycleEvent,
  PatientRecord,
  PatientStore,
  SearchPage,
  StoredPatient,
  TypeHistoryPage,
  TypeHistoryQuery,
} from '../port.js';
import type { AuditStore } from '../../audit/audit-port.js';
import { AuditBatcher, SqliteAuditStore } from './audit-tables.js';
import { guarded, toOutcomeError } from './driver-errors.js';
import { IdempotencyTable } from './idempotency-table.js';
import { lifecycleTables } from './lifecycle-tables.js';
import { openDatabase } from './open-database.js';
import { outboxTables } from './outbox-tables.js';
import { PatientTables } from './patient-tables.js';
import { searchSqlite } from './search.js';
import { TransactionLock } from './transaction-lock.js';
import { GroupCommit, type TransactionScope } from './group-commit.js';
import { BackgroundCheckpoint } from './background-checkpoint.js';
import { historyAcrossPatients } from './type-history.js';

/** What the outer store and its transaction views share: one connection's tables and lock. */
interface Connection {
  db: Database.Database;
  patients: PatientTables;
  idempotency: IdempotencyTable;
  lock: TransactionLock;
  ping: Database.Statement;
  commits: GroupCommit<SqliteStore>;
  /** Checkpoints the WAL off the event loop (file databases only). */
  checkpoint?: BackgroundCheckpoint;
}

/**
 * The embedded engine: the storage port on one better-sqlite3 connection (SQLite in WAL mode).
 *
 * better-sqlite3 is synchronous, so a single call runs whole before anything else can; the
 * {@link TransactionLock} only makes calls wait while a {@link SqliteStore.transaction} is open.
 * Several processes on one file serialize their writes through SQLite's own lock (`BEGIN IMMEDIATE`,
 * `busy_timeout`). Do not call the outer store from inside `transaction(work)`: it waits for that
 * very transaction. Use the `tx` store `work` receives.
 */
export class SqliteStore implements PatientStore {
  readonly engine = 'sqlite' as const;

  private constructor(
    private readonly connection: Connection,
    private readonly scope?: TransactionScope,
  ) {}

  /** Opens `location` (a file path, created with its directory if missing, or `:memory:`) and migrates it. */
  static open(location: string): SqliteStore {
    const db = openDatabase(location);
    const lock = new TransactionLock();
    const connection = {
      db,
      patients: new PatientTables(db),
      idempotency: new IdempotencyTable(db),
      lock,
      ping: db.prepare('SELECT 1'),
    } as Connection;
    connection.commits = new GroupCommit(db, lock, (scope) => new SqliteStore(connection, scope));
    if (!db.memory) connection.checkpoint = new BackgroundCheckpoint(db.name);
    return new SqliteStore(connection);
  }

  /** The audit trail on this connection; on a transaction view it runs inside that transaction. */
  get audit(): AuditStore {
    if (this.scope) return new SqliteAuditStore(this);
    this.auditBatcher ??= new AuditBatcher(this);
    return new SqliteAuditStore(this, this.auditBatcher);
  }

  private auditBatcher?: AuditBatcher;

  /** The connection, for SQLite code beside the port (search, audit, lifecycle, jobs). */
  get db(): Database.Database {
    return this.connection.db;
  }

  create(record: PatientRecord): Promise<void> {
    return this.run(() => this.connection.patients.create(record));
  }

  read(id: string): Promise<StoredPatient | undefined> {
    return this.run(() => this.connection.patients.read(id));
  }

  readVersion(id: string, versionId: string): Promise<StoredPatient | undefined> {
    return this.run(() => this.connection.patients.readVersion(id, versionId));
  }

  history(id: string, query: HistoryQuery): Promise<HistoryPage> {
    return this.run(() => this.connection.patients.history(id, query));
  }

  historyAcrossPatients(query: TypeHistoryQuery): Promise<TypeHistoryPage> {
    return this.run(() => historyAcrossPatients(this.connection.db, query));
  }

  update(record: PatientRecord, expectedVersionId: string): Promise<void> {
    return this.run(() => this.connection.patients.update(record, expectedVersionId));
  }

  search(request: SearchRequest): Promise<SearchPage> {
    return this.run(() => searchSqlite(this.connection.db, request));
  }

  getIdempotency(key: string): Promise<IdempotencyRecord | undefined> {
    return this.run(() => this.connection.idempotency.get(key));
  }

  putIdempotency(record: IdempotencyRecord): Promise<boolean> {
    return this.run(() => this.connection.idempotency.put(record));
  }

  purgeIdempotency(now: Date): Promise<number> {
    return this.run(() => this.connection.idempotency.purge(now));
  }

  setDeletionIndex(id: string, entry: DeletionIndexEntry | undefined): Promise<void> {
    return this.run(() => lifecycleTables(this.connection.db).setDeletionIndex(id, entry));
  }

  findExpiredSoftDeleted(now: Date, limit: number): Promise<string[]> {
    return this.run(() => lifecycleTables(this.connection.db).findExpired(now, limit));
  }

  listDeleted(query: DeletedQuery): Promise<DeletedPage> {
    return this.run(() => lifecycleTables(this.connection.db).listDeleted(query));
  }

  setCorrelationHashes(id: string, hashes: string[]): Promise<void> {
    return this.run(() => lifecycleTables(this.connection.db).setCorrelationHashes(id, hashes));
  }

  findByCorrelation(hashes: string[]): Promise<string[]> {
    return this.run(() => lifecycleTables(this.connection.db).findByCorrelation(hashes));
  }

  anonymizeHistory(id: string, versions: PatientRecord['resource'][]): Promise<void> {
    return this.run(() => lifecycleTables(this.connection.db).anonymizeHistory(id, versions));
  }

  /** Inserts the events into `outbox_event`, all or none; inside the open transaction on a `tx` store. */
  appendEvents(events: LifecycleEvent[]): Promise<void> {
    return this.run(() => outboxTables(this.connection.db).append(events));
  }

  /**
   * Runs synchronous SQLite code beside the port (audit, outbox, jobs) on this connection, with the
   * same rules as a port call: after an open transaction on the outer store, inside it on a
   * transaction store; driver errors come out as `OperationOutcomeError`s. Prefer it to using `db`
   * directly, which would slip into whatever transaction is open.
   */
  withDb<T>(call: (db: Database.Database) => T): Promise<T> {
    return this.run(() => call(this.connection.db));
  }

  /**
   * Runs `work` atomically (COMMIT, or ROLLBACK when it throws) through the connection's
   * {@link GroupCommit}: concurrent transactions share one `BEGIN IMMEDIATE … COMMIT`, each in its
   * own savepoint. On the transaction view itself, `transaction` joins the open transaction.
   */
  async transaction<T>(work: (tx: PatientStore) => Promise<T>): Promise<T> {
    if (this.scope) {
      this.assertOpen();
      return work(this);
    }
    return this.connection.commits.submit(work);
  }

  /** Whether `SELECT 1` answers; never throws. */
  async ping(): Promise<boolean> {
    try {
      return this.connection.ping.get() !== undefined;
    } catch {
      return false;
    }
  }

  /** Waits for an open transaction, then closes the connection. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.scope) throw errors.internal();
    const { db, lock, checkpoint } = this.connection;
    await checkpoint?.stop();
    await lock.hold(() => {
      if (db.open) db.close();
    });
  }

  /**
   * Runs one synchronous database call: at once on a transaction view or an idle store, else after
   * the open transaction ends. Failures come out as `OperationOutcomeError`s only.
   */
  private async run<T>(call: () => T): Promise<T> {
    const { db, lock } = this.connection;
    if (this.scope) {
      this.assertOpen();
      return guarded(db, call);
    }
    if (lock.idle) return guarded(db, call);
    return lock.hold(() => guarded(db, call));
  }

  private assertOpen(): void {
    if (!this.scope?.open) throw errors.internal();
  }
}
