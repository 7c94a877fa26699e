import mongoose from 'mongoose';
import type { ClientSession, Connection } from 'mongoose';
import { ErrorCode, errors } from '../../fhir/outcome.js';
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
import {
  fromIdempotencyDocument,
  parseVersionId,
  toIdempotencyDocument,
  toStoredPatient,
  type IdempotencyDocument,
} from './documents.js';
import { isDriverError, isDuplicateKey, isRetryableTransactionError, toOutcomeError } from './driver-errors.js';
import { expiredIdempotencyFilter, historyPageFilter, historyTotalFilter } from './filters.js';
import * as lifecycle from './lifecycle.js';
import { appendOutboxEvents, ensureOutboxCollection } from './outbox.js';
import { insertPatient, replacePatient } from './patient-writes.js';
import { bindModels, type MongoModels } from './schemas.js';
import type { AuditStore } from '../../audit/audit-port.js';
import { auditModels, ensureAuditCollections, MongoAuditStore } from './audit.js';
import { searchMongo } from './search.js';
import { historyAcrossPatients } from './type-history.js';

/** How to reach MongoDB. */
export interface MongoStoreOptions {
  /** How long an operation waits for a usable server before failing with 503 (default 5000 ms). */
  serverSelectionTimeoutMS?: number;
  /** Database to use instead of the one named in the URI. */
  dbName?: string;
  maxPoolSize?: number;
}

/** A version as read back: only what the port returns (never `_id`). */
type VersionFields = Pick<StoredPatient, 'resource' | 'state'>;

const VERSION_PROJECTION = { _id: 0, resource: 1, state: 1 } as const;

/** Transactions read one snapshot and commit durably (https://www.mongodb.com/docs/manual/core/transactions/). */
const TRANSACTION_OPTIONS = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
} as const;

/** The transaction a view belongs to, and whether it is still running. */
interface TransactionScope {
  readonly session: ClientSession;
  open: boolean;
}

/**
 * The production engine: the storage port on MongoDB through mongoose, on its own connection
 * (never mongoose's global one). Needs a replica set or sharded cluster: every patient write is a
 * multi-document transaction (current version, history, unique-key claims).
 *
 * Inside `transaction(work)`, MongoDB may run `work` more than once (`withTransaction` retries on
 * transient errors), so `work` must not have effects outside the `tx` store. Errors labelled
 * `TransientTransactionError` pass through the `tx` store unmapped so that retry can happen;
 * `transaction` maps whatever finally escapes.
 */
export class MongoStore implements PatientStore {
  readonly engine = 'mongodb' as const;

  private constructor(
    private readonly connection: Connection,
    /** The engine's models, for MongoDB code beside the port (search, lifecycle, jobs). */
    readonly models: MongoModels,
    private readonly scope?: TransactionScope,
  ) {}

  /** The native database handle, for MongoDB code beside the port (Agenda's mongo backend). */
  get database() {
    return this.connection.db!;
  }

  /**
   * Connects, checks that the deployment supports transactions, creates the collections and syncs
   * their indexes (declared in `schemas.ts`). Commands are not buffered: with the server down,
   * calls fail after `serverSelectionTimeoutMS` with 503 `STORE_UNAVAILABLE`.
   */
  static async connect(uri: string, options: MongoStoreOptions = {}): Promise<MongoStore> {
    let connection: Connection | undefined;
    try {
      connection = mongoose.createConnection(uri, {
        bufferCommands: false,
        autoIndex: false,
        autoCreate: false,
        serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
        ...(options.dbName !== undefined ? { dbName: options.dbName } : {}),
        ...(options.maxPoolSize !== undefined ? { maxPoolSize: options.maxPoolSize } : {}),
      });
      await connection.asPromise();
      await assertTransactional(connection);
      const models = bindModels(connection);
      for (const model of Object.values(models)) {
        await model.createCollection();
        await model.syncIndexes();
      }
      await lifecycle.ensureLifecycleCollections(models);
      await ensureOutboxCollection(models);
      await ensureAuditCollections(connection);
      return new MongoStore(connection, models);
    } catch (err) {
      await connection?.close().catch(() => undefined);
      throw toOutcomeError(err);
    }
  }

  /** The audit trail (`audit_events`); on a transaction view, `append` joins that transaction. */
  get audit(): AuditStore {
    return new MongoAuditStore(this, auditModels(this.connection));
  }

  /** The session of the transaction this view belongs to (`undefined` on the outer store). */
  get session(): ClientSession | undefined {
    return this.scope?.session;
  }

  create(record: PatientRecord): Promise<void> {
    return this.write((session) => insertPatient(this.models, record, session));
  }

  read(id: string): Promise<StoredPatient | undefined> {
    return this.run(async (session) => {
      const doc = await this.models.patients
        .findById(id, VERSION_PROJECTION, { session })
        .lean<VersionFields>();
      return doc ? toStoredPatient(doc) : undefined;
    });
  }

  readVersion(id: string, versionId: string): Promise<StoredPatient | undefined> {
    const version = parseVersionId(versionId);
    if (version === undefined) return Promise.resolve(undefined);
    return this.run(async (session) => {
      const doc = await this.models.history
        .findOne({ id, versionId: version }, VERSION_PROJECTION, { session })
        .lean<VersionFields>();
      return doc ? toStoredPatient(doc) : undefined;
    });
  }

  history(id: string, query: HistoryQuery): Promise<HistoryPage> {
    const count = Number.isFinite(query.count) ? Math.max(0, Math.floor(query.count)) : 0;
    return this.run(async (session) => {
      // one at a time: a session must not run operations concurrently
      const docs = await this.models.history
        .find(historyPageFilter(id, query), VERSION_PROJECTION, { session })
        .sort({ versionId: -1 })
        .limit(count + 1)
        .lean<VersionFields[]>();
      const total = await this.models.history.countDocuments(historyTotalFilter(id, query), { session });
      return { versions: docs.slice(0, count).map(toStoredPatient), total, hasMore: docs.length > count };
    });
  }

  historyAcrossPatients(query: TypeHistoryQuery): Promise<TypeHistoryPage> {
    return this.run((session) => historyAcrossPatients(this.models, query, session));
  }

  update(record: PatientRecord, expectedVersionId: string): Promise<void> {
    return this.write((session) => replacePatient(this.models, record, expectedVersionId, session));
  }

  search(request: SearchRequest): Promise<SearchPage> {
    return this.run(() => searchMongo(this.models.patients, request));
  }

  getIdempotency(key: string): Promise<IdempotencyRecord | undefined> {
    return this.run(async (session) => {
      const doc = await this.models.idempotency.findById(key, null, { session }).lean<IdempotencyDocument>();
      return doc ? fromIdempotencyDocument(doc) : undefined;
    });
  }

  /** Inserts unless the key exists; an upsert, so an existing key does not abort a transaction. */
  putIdempotency(record: IdempotencyRecord): Promise<boolean> {
    const { _id, ...fields } = toIdempotencyDocument(record);
    return this.run(async (session) => {
      try {
        const result = await this.models.idempotency.updateOne(
          { _id },
          { $setOnInsert: fields },
          { upsert: true, session, runValidators: true },
        );
        return result.upsertedCount === 1;
      } catch (err) {
        // two concurrent upserts of one key: the loser sees E11000
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    });
  }

  /** Deletes expired records now (MongoDB's TTL monitor also removes them, about once a minute). */
  purgeIdempotency(now: Date): Promise<number> {
    return this.run(async (session) => {
      const result = await this.models.idempotency.deleteMany(expiredIdempotencyFilter(now), { session });
      return result.deletedCount;
    });
  }

  setDeletionIndex(id: string, entry: DeletionIndexEntry | undefined): Promise<void> {
    return this.run((session) => lifecycle.setDeletionIndex(this.models, id, entry, session));
  }

  findExpiredSoftDeleted(now: Date, limit: number): Promise<string[]> {
    return this.run((session) => lifecycle.findExpiredSoftDeleted(this.models, now, limit, session));
  }

  listDeleted(query: DeletedQuery): Promise<DeletedPage> {
    return this.run((session) => lifecycle.listDeleted(this.models, query, session));
  }

  setCorrelationHashes(id: string, hashes: string[]): Promise<void> {
    return this.write((session) => lifecycle.setCorrelationHashes(this.models, id, hashes, session));
  }

  findByCorrelation(hashes: string[]): Promise<string[]> {
    return this.run((session) => lifecycle.findByCorrelation(this.models, hashes, session));
  }

  anonymizeHistory(id: string, versions: PatientRecord['resource'][]): Promise<void> {
    return this.write((session) => lifecycle.anonymizeHistory(this.models, id, versions, session));
  }

  /** Inserts the events into `outbox_events`, all or none; inside the open transaction on a `tx` store. */
  appendEvents(events: LifecycleEvent[]): Promise<void> {
    return this.write((session) => appendOutboxEvents(this.models, events, session));
  }

  /**
   * Runs `work` in one multi-document transaction (`ClientSession#withTransaction`, snapshot read
   * concern, majority writes). On a transaction view, joins the open transaction.
   */
  async transaction<T>(work: (tx: PatientStore) => Promise<T>): Promise<T> {
    if (this.scope) {
      this.assertOpen();
      return work(this);
    }
    let session: ClientSession | undefined;
    try {
      session = await this.connection.startSession();
      const current = session;
      return await current.withTransaction(async () => {
        const scope: TransactionScope = { session: current, open: true };
        try {
          return await work(new MongoStore(this.connection, this.models, scope));
        } finally {
          scope.open = false;
        }
      }, TRANSACTION_OPTIONS);
    } catch (err) {
      // the work's own errors come back as thrown; driver errors (retries exhausted, commit failed) are mapped
      throw isDriverError(err) ? toOutcomeError(err) : err;
    } finally {
      await session?.endSession().catch(() => undefined);
    }
  }

  /** Whether the server answers `ping`; never throws. */
  async ping(): Promise<boolean> {
    try {
      const db = this.connection.db;
      if (!db) return false;
      const reply = await db.command({ ping: 1 });
      return reply.ok === 1;
    } catch {
      return false;
    }
  }

  /** Closes the connection. Closing twice is harmless; a transaction view cannot close it. */
  async close(): Promise<void> {
    if (this.scope) throw errors.internal();
    try {
      await this.connection.close();
    } catch (err) {
      throw toOutcomeError(err);
    }
  }

  /** Runs a multi-document write in the open transaction, or in a new one. */
  private write(op: (session: ClientSession) => Promise<void>): Promise<void> {
    if (!this.scope) return this.transaction((tx) => (tx as MongoStore).write(op));
    const { session } = this.scope;
    return this.run(() => op(session));
  }

  /**
   * Runs one operation with this view's session (if any), mapping failures to
   * `OperationOutcomeError` — except, inside a transaction, the ones `withTransaction` retries.
   */
  private async run<T>(op: (session: ClientSession | undefined) => Promise<T>): Promise<T> {
    if (this.scope) this.assertOpen();
    try {
      return await op(this.scope?.session);
    } catch (err) {
      if (this.scope && isRetryableTransactionError(err)) throw err;
      throw toOutcomeError(err);
    }
  }

  private assertOpen(): void {
    if (!this.scope?.open) throw errors.internal();
  }
}

/**
 * Refuses a standalone `mongod`: it has no multi-document transactions, which every write needs.
 * `hello` answers `setName` on a replica-set member and `msg: 'isdbgrid'` on `mongos`.
 */
async function assertTransactional(connection: Connection): Promise<void> {
  const hello = await connection.db!.admin().command({ hello: 1 });
  if (typeof hello.setName === 'string' || hello.msg === 'isdbgrid') return;
  throw errors.unavailable(
    ErrorCode.STORE_UNAVAILABLE,
    'MongoDB must be a replica set or a sharded cluster: the engine needs transactions',
  );
}
