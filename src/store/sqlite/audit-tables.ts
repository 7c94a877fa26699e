import Database from 'better-sqlite3';
import type {
  AuditEventResource,
  AuditSearchPage,
  AuditSearchRequest,
  AuditStore,
  AuditVerifyResult,
  ChainAnchor,
  StoredAudit,
} from '../../audit/audit-port.js';
import { auditPageOf } from '../../audit/audit-page.js';
import { prepared } from './prepared.js';
import { BUSY_TIMEOUT_MS } from './driver-errors.js';
import { auditKeysOf, chainHash, ChainVerifier, GENESIS_HASH } from '../../audit/hash-chain.js';
import { errors } from '../../fhir/outcome.js';
import type { Condition, EntryTest } from '../../fhir/search/types.js';

/**
 * The audit trail on SQLite: `audit_event` holds one row per link of the hash chain (`seq` is the
 * chain order), `audit_event_key` the multi-valued search keys (patient, entity, agent references).
 */
export function createAuditTables(db: Database.Database): void {
  db.exec(`
        CREATE TABLE audit_event (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          id TEXT NOT NULL UNIQUE,
          recorded_ms INTEGER NOT NULL,
          action TEXT NOT NULL,
          subtype TEXT NOT NULL,
          outcome TEXT NOT NULL,
          patient_ref TEXT,
          agent_ref TEXT,
          resource TEXT NOT NULL,
          hash TEXT NOT NULL,
          prev_hash TEXT NOT NULL
        ) STRICT;
        CREATE INDEX audit_event_recorded ON audit_event (recorded_ms, seq);
        CREATE INDEX audit_event_action ON audit_event (action, recorded_ms, seq);
        CREATE INDEX audit_event_subtype ON audit_event (subtype, recorded_ms, seq);
        CREATE INDEX audit_event_outcome ON audit_event (outcome, recorded_ms, seq);

        -- One row per entity and agent reference; patient searches use the entity rows (every
        -- Patient entity is one). No index by seq: the retention purge deletes keys in one pass.
        CREATE TABLE audit_event_key (
          seq INTEGER NOT NULL,
          param TEXT NOT NULL,
          value TEXT NOT NULL,
          PRIMARY KEY (param, value, seq)
        ) STRICT, WITHOUT ROWID;
      `);
}

/** Where the SQLite audit code runs its synchronous calls (a `SqliteStore` or its transaction view). */
export interface SqliteCalls {
  withDb<T>(call: (db: Database.Database) => T): Promise<T>;
}

interface AuditRow {
  seq: number;
  id: string;
  recorded_ms: number;
  resource: string;
  hash: string;
  prev_hash: string;
}

const COLUMNS: Record<string, string> = { action: 'a.action', subtype: 'a.subtype', outcome: 'a.outcome', _id: 'a.id' };
const KEYED = new Set(['patient', 'entity', 'agent']);
const OPS = { eq: '=', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

function toStored(row: AuditRow): StoredAudit {
  return { seq: row.seq, resource: JSON.parse(row.resource) as AuditEventResource, hash: row.hash, prevHash: row.prev_hash };
}

/** SQL for one neutral condition over `audit_event a`. */
export function auditConditionSql(c: Condition, params: (string | number)[]): string {
  switch (c.kind) {
    case 'and':
    case 'or':
      if (c.conditions.length === 0) return c.kind === 'and' ? '1' : '0';
      return `(${c.conditions.map((x) => auditConditionSql(x, params)).join(c.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `NOT ${auditConditionSql(c.condition, params)}`;
    case 'missing':
      throw errors.internal();
    case 'entry':
      return `(${c.tests.map((t) => testSql(c.param, t, params)).join(' AND ')})`;
  }
}

function testSql(param: string, t: EntryTest, params: (string | number)[]): string {
  if (t.field === 'low' || t.field === 'high') {
    if (param !== 'date') throw errors.internal();
    // a recorded instant covers [ms, ms + 1): `high op v` is `ms op v - 1`
    params.push(t.field === 'high' ? t.value - 1 : t.value);
    return `a.recorded_ms ${OPS[t.op]} ?`;
  }
  if (t.op !== 'in' && t.op !== 'eq') throw errors.internal();
  const values = t.op === 'in' ? t.values : [t.value as string];
  const marks = values.map(() => '?').join(', ');
  if (KEYED.has(param)) {
    // every Patient entity has an `entity` row; `patient` values are `Patient/<id>` already
    params.push(param === 'patient' ? 'entity' : param, ...values);
    return `a.seq IN (SELECT seq FROM audit_event_key WHERE param = ? AND value IN (${marks}))`;
  }
  const column = COLUMNS[param];
  if (!column) throw errors.internal();
  params.push(...values);
  return `${column} IN (${marks})`;
}

interface AppendStatements {
  last: Database.Statement;
  insert: Database.Statement;
  insertKey: Database.Statement;
}

// prepared once per connection: every request appends one event
const appendStatements = new WeakMap<Database.Database, AppendStatements>();

function statementsOf(db: Database.Database): AppendStatements {
  let s = appendStatements.get(db);
  if (!s) {
    s = {
      last: db.prepare('SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare(
        `INSERT INTO audit_event (id, recorded_ms, action, subtype, outcome, patient_ref, agent_ref, resource, hash, prev_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertKey: db.prepare('INSERT OR IGNORE INTO audit_event_key (seq, param, value) VALUES (?, ?, ?)'),
    };
    appendStatements.set(db, s);
  }
  return s;
}

/** Appends events as the next links of the chain, inside the caller's transaction. */
function appendLinks(db: Database.Database, events: readonly AuditEventResource[]): StoredAudit[] {
  const statements = statementsOf(db);
  const last = statements.last.get() as { hash: string } | undefined;
  let prevHash = last?.hash ?? GENESIS_HASH;
  const stored: StoredAudit[] = [];
  for (const event of events) {
    const keys = auditKeysOf(event);
    const hash = chainHash(prevHash, event);
    const info = statements.insert.run(event.id, keys.recordedMs, keys.action, keys.subtype, keys.outcome,
      keys.patients[0] ?? null, keys.agents[0] ?? null, JSON.stringify(event), hash, prevHash);
    const seq = Number(info.lastInsertRowid);
    // `patients` ⊆ `entities` (the Patient ones): `patient=` is answered from the entity rows
    for (const [param, values] of [['entity', keys.entities], ['agent', keys.agents]] as const) {
      for (const value of values) statements.insertKey.run(seq, param, value);
    }
    stored.push({ seq, resource: event, hash, prevHash });
    prevHash = hash;
  }
  return stored;
}

/** Links hashed per turn of the event loop by `verify` (~25 ms of work). */
export const VERIFY_SLICE = 250;

function linksAfter(db: Database.Database, seq: number): AuditRow[] {
  return prepared(db, 'SELECT seq, id, recorded_ms, resource, hash, prev_hash FROM audit_event WHERE seq > ? ORDER BY seq LIMIT ?')
    .all(seq, VERIFY_SLICE) as AuditRow[];
}

/** A read-only connection inside a read transaction: every later read sees the chain as it is now. */
function snapshotReader(file: string): Database.Database {
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  try {
    reader.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    reader.exec('BEGIN');
    reader.prepare('SELECT 1 FROM audit_event LIMIT 1').get(); // the snapshot starts at the first read
    return reader;
  } catch (err) {
    reader.close();
    throw err;
  }
}

interface PendingAppend {
  event: AuditEventResource;
  resolve: (stored: StoredAudit) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the events of requests that change nothing (reads, searches, refusals): the
 * events queued during one turn of the event loop are written in ONE `BEGIN IMMEDIATE` transaction,
 * and each request still waits for its own event to be committed before it answers (fail closed).
 * One commit per batch instead of one per request is what keeps audited reads near Express speed.
 */
export class AuditBatcher {
  private queue: PendingAppend[] = [];
  private scheduled = false;

  constructor(private readonly calls: SqliteCalls) {}

  append(event: AuditEventResource): Promise<StoredAudit> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    try {
      const stored = await this.calls.withDb((db) => db.transaction(() => appendLinks(db, batch.map((p) => p.event))).immediate());
      batch.forEach((pending, i) => pending.resolve(stored[i]!));
    } catch (err) {
      for (const pending of batch) pending.reject(err);
    }
  }
}

/**
 * The `AuditStore` of the SQLite engine; `calls` decides which transaction it runs in. On the outer
 * store appends go through the connection's {@link AuditBatcher}; on a transaction view they join
 * that transaction (a SAVEPOINT), so a change and its event commit together.
 */
export class SqliteAuditStore implements AuditStore {
  constructor(
    private readonly calls: SqliteCalls,
    private readonly batcher?: AuditBatcher,
  ) {}

  append(event: AuditEventResource): Promise<StoredAudit> {
    if (this.batcher) return this.batcher.append(event);
    // BEGIN IMMEDIATE on an idle connection (a SAVEPOINT inside an open transaction): the last hash
    // is read under the write lock, so every process extends the same chain
    return this.calls.withDb((db) => db.transaction(() => appendLinks(db, [event])[0]!).immediate());
  }

  read(id: string): Promise<StoredAudit | undefined> {
    return this.calls.withDb((db) => {
      const row = prepared(db, 'SELECT seq, id, recorded_ms, resource, hash, prev_hash FROM audit_event WHERE id = ?').get(id) as
        | AuditRow
        | undefined;
      return row ? toStored(row) : undefined;
    });
  }

  search(request: AuditSearchRequest): Promise<AuditSearchPage> {
    return this.calls.withDb((db) => {
      const params: (string | number)[] = [];
      const filter = request.where.map((c) => auditConditionSql(c, params));
      const where = filter.length ? filter.join(' AND ') : '1';
      const total = request.total
        ? (prepared(db, `SELECT COUNT(*) AS n FROM audit_event a WHERE ${where}`).get(...params) as { n: number }).n
        : undefined;
      const backwards = request.cursor?.direction === 'previous';
      // walking direction: the requested order, reversed for `previous`
      const desc = request.descending !== backwards;
      const pageParams = [...params];
      let keyset = '';
      if (request.cursor) {
        const [ms, seq] = request.cursor.after;
        const op = desc ? '<' : '>';
        keyset = ` AND (a.recorded_ms ${op} ? OR (a.recorded_ms = ? AND a.seq ${op} ?))`;
        pageParams.push(ms, ms, seq);
      }
      const dir = desc ? 'DESC' : 'ASC';
      const rows = prepared(
        db,
        `SELECT a.seq, a.id, a.recorded_ms, a.resource, a.hash, a.prev_hash FROM audit_event a
         WHERE ${where}${keyset} ORDER BY a.recorded_ms ${dir}, a.seq ${dir} LIMIT ?`,
      ).all(...pageParams, request.count + 1) as AuditRow[];
      return auditPageOf(rows.map(toStored), request, total);
    });
  }

  /**
   * Walks the chain in slices of {@link VERIFY_SLICE} links, yielding to the event loop between
   * slices (a chain of a million links is minutes of hashing: requests keep being served meanwhile).
   * On a file the walk reads one snapshot through its own read-only connection, so appends and a
   * retention purge during the walk neither join it nor break it; `:memory:` reads through the
   * store's connection.
   */
  async verify(anchor?: ChainAnchor): Promise<AuditVerifyResult> {
    const verifier = new ChainVerifier(anchor);
    const reader = await this.calls.withDb((db) => (db.memory ? undefined : snapshotReader(db.name)));
    try {
      for (let after = 0; ; ) {
        const rows = reader ? linksAfter(reader, after) : await this.calls.withDb((db) => linksAfter(db, after));
        for (const row of rows) {
          verifier.check({
            seq: row.seq,
            id: row.id,
            hash: row.hash,
            prevHash: row.prev_hash,
            resource: () => JSON.parse(row.resource) as AuditEventResource,
          });
        }
        if (rows.length < VERIFY_SLICE) return verifier.result();
        after = rows[rows.length - 1]!.seq;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      reader?.close();
    }
  }

  purgeBefore(cutoffMs: number): Promise<number> {
    return this.calls.withDb((db) =>
      db
        .transaction(() => {
          // the newest link always stays: it carries the hash the next append chains to
          const keep = db.prepare('SELECT MAX(seq) AS s FROM audit_event').get() as { s: number | null };
          db.prepare(
            'DELETE FROM audit_event_key WHERE seq IN (SELECT seq FROM audit_event WHERE recorded_ms < ? AND seq < ?)',
          ).run(cutoffMs, keep.s ?? 0);
          return db.prepare('DELETE FROM audit_event WHERE recorded_ms < ? AND seq < ?').run(cutoffMs, keep.s ?? 0).changes;
        })
        .immediate(),
    );
  }
}
