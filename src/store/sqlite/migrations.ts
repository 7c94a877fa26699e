import type { Database } from 'better-sqlite3';
import { ErrorCode, errors } from '../../fhir/outcome.js';
import { createLifecycleTables } from './lifecycle-tables.js';
import { createOutboxTables } from './outbox-tables.js';
import { createAuditTables } from './audit-tables.js';

/**
 * One step of the SQLite schema. `version` is what `PRAGMA user_version` holds once `up` has run;
 * versions are 1, 2, 3… with no gaps. A migration is never edited once released: append a new one.
 */
export interface Migration {
  version: number;
  description: string;
  up(db: Database): void;
}

const patientSchema: Migration = {
  version: 1,
  description: 'patients: current version, history, search index, unique keys, idempotency',
  up(db) {
    db.exec(`
      CREATE TABLE patient (
        id TEXT PRIMARY KEY,
        version_id INTEGER NOT NULL,
        last_updated TEXT NOT NULL,
        last_updated_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        resource TEXT NOT NULL,
        sort_family TEXT,
        sort_given TEXT,
        sort_birthdate INTEGER,
        sort_gender TEXT
      ) STRICT;
      CREATE INDEX patient_state_id ON patient (state, id);
      CREATE INDEX patient_state_updated ON patient (state, last_updated_ms, id);
      CREATE INDEX patient_state_family ON patient (state, sort_family, id);
      CREATE INDEX patient_state_given ON patient (state, sort_given, id);
      CREATE INDEX patient_state_birthdate ON patient (state, sort_birthdate, id);
      CREATE INDEX patient_state_gender ON patient (state, sort_gender, id);

      CREATE TABLE patient_history (
        id TEXT NOT NULL,
        version_id INTEGER NOT NULL,
        last_updated TEXT NOT NULL,
        last_updated_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        resource TEXT NOT NULL,
        PRIMARY KEY (id, version_id)
      ) STRICT;
      CREATE INDEX patient_history_updated ON patient_history (last_updated_ms, id, version_id);

      CREATE TABLE patient_search (
        patient_id TEXT NOT NULL,
        param TEXT NOT NULL,
        text TEXT,
        exact TEXT,
        system TEXT,
        code TEXT,
        low INTEGER,
        high INTEGER,
        ref TEXT
      ) STRICT;
      -- Partial indexes: a row enters only the index of its value kind, so a write touches 2-3
      -- b-trees instead of 7. Any comparison on the column implies IS NOT NULL, so the planner
      -- still uses them (https://sqlite.org/partialindex.html#queries_using_partial_indexes).
      CREATE INDEX patient_search_text ON patient_search (param, text, patient_id) WHERE text IS NOT NULL;
      CREATE INDEX patient_search_exact ON patient_search (param, exact, patient_id) WHERE exact IS NOT NULL;
      CREATE INDEX patient_search_token ON patient_search (param, code, system, patient_id) WHERE code IS NOT NULL;
      CREATE INDEX patient_search_range ON patient_search (param, low, high, patient_id) WHERE low IS NOT NULL;
      CREATE INDEX patient_search_high ON patient_search (param, high, patient_id) WHERE high IS NOT NULL;
      CREATE INDEX patient_search_ref ON patient_search (param, ref, patient_id) WHERE ref IS NOT NULL;
      CREATE INDEX patient_search_patient ON patient_search (patient_id, param);
      -- every row: serves :missing, :contains and token system-only tests within one parameter
      CREATE INDEX patient_search_param ON patient_search (param, patient_id);

      CREATE TABLE patient_unique (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        patient_id TEXT NOT NULL
      ) STRICT;
      CREATE INDEX patient_unique_patient ON patient_unique (patient_id);

      CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL,
        patient_id TEXT NOT NULL,
        version_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX idempotency_expires ON idempotency (expires_at);
      CREATE INDEX idempotency_patient ON idempotency (patient_id);
    `);
  },
};

const lifecycleSchema: Migration = {
  version: 2,
  description: 'deletion lifecycle: deleted-patient index, correlation hashes',
  up: createLifecycleTables,
};

const outboxSchema: Migration = {
  version: 3,
  description: 'transactional outbox: lifecycle events and their webhook deliveries',
  up: createOutboxTables,
};

const auditSchema: Migration = {
  version: 4,
  description: 'audit trail: hash-chained AuditEvents and their search keys',
  up: createAuditTables,
};

const SEARCH_VALUE_INDEXES = `
  CREATE INDEX patient_search_text ON patient_search (param, text, patient_id) WHERE text IS NOT NULL;
  CREATE INDEX patient_search_exact ON patient_search (param, exact, patient_id) WHERE exact IS NOT NULL;
  CREATE INDEX patient_search_token ON patient_search (param, code, system, patient_id) WHERE code IS NOT NULL;
  CREATE INDEX patient_search_range ON patient_search (param, low, high, patient_id) WHERE low IS NOT NULL;
  CREATE INDEX patient_search_high ON patient_search (param, high, patient_id) WHERE high IS NOT NULL;
  CREATE INDEX patient_search_ref ON patient_search (param, ref, patient_id) WHERE ref IS NOT NULL;`;

/**
 * Fewer b-trees per search value, which is what a write pays for (each insert into an index keyed by
 * a random value dirties its own page, and every dirty page is written to the WAL at commit):
 * `patient_search` becomes a WITHOUT ROWID table clustered by `(patient_id, seq)` — a patient's
 * rows are one range, so the separate `(patient_id, param)` index goes — and the `(param,
 * patient_id)` index over every row goes too: presence tests (`:missing`) read the value indexes.
 * From four b-trees per row to two (three for a string: text and exact).
 */
const clusteredSearchSchema: Migration = {
  version: 5,
  description: 'patient_search clustered by patient, without the per-patient and per-parameter indexes',
  up(db) {
    db.exec(`
      CREATE TABLE patient_search_clustered (
        patient_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        param TEXT NOT NULL,
        text TEXT,
        exact TEXT,
        system TEXT,
        code TEXT,
        low INTEGER,
        high INTEGER,
        ref TEXT,
        PRIMARY KEY (patient_id, seq)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO patient_search_clustered (patient_id, seq, param, text, exact, system, code, low, high, ref)
        SELECT patient_id, row_number() OVER (PARTITION BY patient_id ORDER BY rowid), param, text, exact, system, code, low, high, ref
        FROM patient_search;
      DROP TABLE patient_search;
      ALTER TABLE patient_search_clustered RENAME TO patient_search;
      ${SEARCH_VALUE_INDEXES}
    `);
  },
};

/**
 * Every migration, in order. Later features (audit events, outbox, jobs) append theirs here, or
 * pass their own list to {@link migrate}.
 */
export const migrations: readonly Migration[] = [patientSchema, lifecycleSchema, outboxSchema, auditSchema, clusteredSearchSchema];

/** The schema version a database is at (`PRAGMA user_version`). */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` up to the last version of `list`, each migration in its own `BEGIN IMMEDIATE`
 * transaction together with its `user_version` bump. The version is re-read under the write lock,
 * so several processes opening one new file apply each step exactly once. Refuses a database whose
 * schema is newer than this code knows (503). Returns the versions applied.
 */
export function migrate(db: Database, list: readonly Migration[] = migrations): number[] {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new RangeError(`migration #${i} has version ${m.version}, expected ${i + 1}`);
  });
  const latest = list.length;
  if (schemaVersion(db) > latest) {
    throw errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'The database schema is newer than this server');
  }
  const applied: number[] = [];
  for (const m of list) {
    if (schemaVersion(db) >= m.version) continue;
    const step = db.transaction(() => {
      if (schemaVersion(db) >= m.version) return false;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      return true;
    });
    if (step.immediate()) applied.push(m.version);
  }
  return applied;
}
