import type { Database, Statement } from 'better-sqlite3';
import { errors } from '../../fhir/outcome.js';
import type { DeletedPage, DeletedQuery, DeletionIndexEntry, PatientRecord, PatientState, StoredPatient } from '../port.js';

/**
 * Schema of the deletion lifecycle (SPEC §7): one index row per deleted patient (what the sweep and
 * `$deleted` filter and sort on) and the correlation hashes of the returning-patient check.
 * Appended to `migrations.ts`; its `version` is set there.
 */
export function createLifecycleTables(db: Database): void {
  db.exec(`
    CREATE TABLE patient_deletion (
      patient_id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      held INTEGER NOT NULL,
      soft_deleted_ms INTEGER NOT NULL,
      grace_expires_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX patient_deletion_sweep ON patient_deletion (status, held, grace_expires_ms, patient_id);
    CREATE INDEX patient_deletion_list ON patient_deletion (status, soft_deleted_ms, patient_id);
    CREATE INDEX patient_deletion_newest ON patient_deletion (soft_deleted_ms, patient_id);

    CREATE TABLE patient_correlation (
      hash TEXT NOT NULL,
      patient_id TEXT NOT NULL,
      PRIMARY KEY (hash, patient_id)
    ) STRICT;
    CREATE INDEX patient_correlation_patient ON patient_correlation (patient_id);
  `);
}

interface DeletedRow {
  resource: string;
  state: PatientState;
  soft_deleted_ms: number;
  patient_id: string;
}

const tables = new WeakMap<Database, LifecycleTables>();

/** The lifecycle tables of one connection, with statements prepared once per connection. */
export function lifecycleTables(db: Database): LifecycleTables {
  let found = tables.get(db);
  if (!found) tables.set(db, (found = new LifecycleTables(db)));
  return found;
}

/** Synchronous reads and writes of `patient_deletion` and `patient_correlation`. */
export class LifecycleTables {
  private readonly sql;
  private readonly setHashesTx;
  private readonly anonymizeTx;
  private readonly listCache = new Map<string, Statement<unknown[], DeletedRow>>();
  private readonly countCache = new Map<string, Statement<unknown[], { n: number }>>();

  constructor(private readonly db: Database) {
    const p = <R = unknown>(source: string) => db.prepare<unknown[], R>(source);
    this.sql = {
      upsertDeletion: p(
        `INSERT INTO patient_deletion (patient_id, status, held, soft_deleted_ms, grace_expires_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (patient_id) DO UPDATE SET status = excluded.status, held = excluded.held,
           soft_deleted_ms = excluded.soft_deleted_ms, grace_expires_ms = excluded.grace_expires_ms`,
      ),
      deleteDeletion: p('DELETE FROM patient_deletion WHERE patient_id = ?'),
      expired: p<{ patient_id: string }>(
        `SELECT patient_id FROM patient_deletion
         WHERE status = 'soft-deleted' AND held = 0 AND grace_expires_ms <= ?
         ORDER BY grace_expires_ms, patient_id LIMIT ?`,
      ),
      clearHashes: p('DELETE FROM patient_correlation WHERE patient_id = ?'),
      insertHash: p('INSERT OR IGNORE INTO patient_correlation (hash, patient_id) VALUES (?, ?)'),
      byHash: p<{ patient_id: string }>('SELECT patient_id FROM patient_correlation WHERE hash = ?'),
      historyVersions: p<{ version_id: number }>('SELECT version_id FROM patient_history WHERE id = ?'),
      replaceVersion: p('UPDATE patient_history SET resource = ? WHERE id = ? AND version_id = ?'),
      deleteIndex: p('DELETE FROM patient_search WHERE patient_id = ?'),
      deleteIdempotency: p('DELETE FROM idempotency WHERE patient_id = ?'),
      releaseKeys: p('DELETE FROM patient_unique WHERE patient_id = ?'),
    } satisfies Record<string, Statement<unknown[], unknown>>;

    this.setHashesTx = db.transaction((id: string, hashes: string[]) => {
      this.sql.clearHashes.run(id);
      for (const hash of new Set(hashes)) this.sql.insertHash.run(hash, id);
    });

    this.anonymizeTx = db.transaction((id: string, versions: PatientRecord['resource'][]) => {
      const stored = new Set(this.sql.historyVersions.all(id).map((row) => row.version_id));
      const given = new Set(versions.map((v) => Number(v.meta.versionId)));
      // Every stored version must be replaced: a version left behind would keep PHI.
      if (stored.size !== given.size || [...stored].some((v) => !given.has(v))) throw errors.internal();
      for (const version of versions) {
        this.sql.replaceVersion.run(JSON.stringify(version), id, Number(version.meta.versionId));
      }
      this.sql.deleteIndex.run(id);
      this.sql.deleteIdempotency.run(id);
      this.sql.releaseKeys.run(id);
    });
  }

  setDeletionIndex(id: string, entry: DeletionIndexEntry | undefined): void {
    if (!entry) {
      this.sql.deleteDeletion.run(id);
      return;
    }
    const deleted = Date.parse(entry.softDeletedAt);
    const expires = Date.parse(entry.graceExpiresAt);
    if (Number.isNaN(deleted) || Number.isNaN(expires)) throw errors.internal();
    this.sql.upsertDeletion.run(id, entry.status, entry.held ? 1 : 0, deleted, expires);
  }

  findExpired(now: Date, limit: number): string[] {
    return this.sql.expired.all(now.getTime(), Math.max(0, Math.floor(limit))).map((row) => row.patient_id);
  }

  setCorrelationHashes(id: string, hashes: string[]): void {
    this.setHashesTx.immediate(id, hashes);
  }

  findByCorrelation(hashes: string[]): string[] {
    const ids = new Set<string>();
    for (const hash of new Set(hashes)) for (const row of this.sql.byHash.all(hash)) ids.add(row.patient_id);
    return [...ids];
  }

  anonymizeHistory(id: string, versions: PatientRecord['resource'][]): void {
    this.anonymizeTx.immediate(id, versions);
  }

  /** Newest deletion first: `(soft_deleted_ms, patient_id)` descending, served by an index. */
  listDeleted(query: DeletedQuery): DeletedPage {
    const statuses = [...new Set(query.statuses)].sort();
    if (statuses.length === 0) return { patients: [], total: 0 };
    const statusSql = `d.status IN (${statuses.map(() => '?').join(', ')})`;
    const afterSql = query.after ? ' AND (d.soft_deleted_ms < ? OR (d.soft_deleted_ms = ? AND d.patient_id < ?))' : '';
    const listKey = `${statuses.length}|${query.after ? 1 : 0}`;
    let list = this.listCache.get(listKey);
    if (!list) {
      list = this.db.prepare<unknown[], DeletedRow>(
        `SELECT p.resource, p.state, d.soft_deleted_ms, d.patient_id
         FROM patient_deletion d JOIN patient p ON p.id = d.patient_id
         WHERE ${statusSql}${afterSql}
         ORDER BY d.soft_deleted_ms DESC, d.patient_id DESC LIMIT ?`,
      );
      this.listCache.set(listKey, list);
    }
    let count = this.countCache.get(String(statuses.length));
    if (!count) {
      count = this.db.prepare<unknown[], { n: number }>(`SELECT count(*) AS n FROM patient_deletion d WHERE ${statusSql}`);
      this.countCache.set(String(statuses.length), count);
    }
    const size = Math.max(0, Math.floor(query.count));
    const after = query.after ? [query.after.softDeletedAtMs, query.after.softDeletedAtMs, query.after.id] : [];
    const rows = list.all(...statuses, ...after, size + 1);
    const page = rows.slice(0, size);
    const last = page.at(-1);
    return {
      patients: page.map((row): StoredPatient => ({ resource: JSON.parse(row.resource), state: row.state })),
      total: count.get(...statuses)?.n ?? 0,
      ...(rows.length > size && last ? { next: { softDeletedAtMs: last.soft_deleted_ms, id: last.patient_id } } : {}),
    };
  }
}
