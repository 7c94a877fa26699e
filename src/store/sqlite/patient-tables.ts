import type { Database, Statement } from 'better-sqlite3';
import { ErrorCode, errors } from '../../fhir/outcome.js';
import type { HistoryPage, HistoryQuery, PatientRecord, PatientState, StoredPatient, UniqueKey } from '../port.js';
import { uniqueKeyConflict, uniqueKeyId } from '../unique-conflict.js';

interface ResourceRow {
  resource: string;
  state: PatientState;
}

/**
 * Synchronous reads and writes of the patient tables (`patient`, `patient_history`,
 * `patient_search`, `patient_unique`), with statements prepared once. Each write is one SQLite
 * transaction (a savepoint when a transaction is already open), so it lands whole or not at all.
 */
export class PatientTables {
  private readonly sql;
  private readonly createTx;
  private readonly updateTx;

  constructor(private readonly db: Database) {
    const p = <R = unknown>(source: string) => db.prepare<unknown[], R>(source);
    this.sql = {
      currentVersion: p<{ version_id: number }>('SELECT version_id FROM patient WHERE id = ?'),
      read: p<ResourceRow>('SELECT resource, state FROM patient WHERE id = ?'),
      readVersion: p<ResourceRow>('SELECT resource, state FROM patient_history WHERE id = ? AND version_id = ?'),
      history: p<ResourceRow>(
        `SELECT resource, state FROM patient_history
         WHERE id = ? AND last_updated_ms >= ? AND version_id < ?
         ORDER BY version_id DESC LIMIT ?`,
      ),
      historyTotal: p<{ n: number }>(
        'SELECT count(*) AS n FROM patient_history WHERE id = ? AND last_updated_ms >= ?',
      ),
      insertCurrent: p(
        `INSERT INTO patient (id, version_id, last_updated, last_updated_ms, state, resource,
           sort_family, sort_given, sort_birthdate, sort_gender)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateCurrent: p(
        `UPDATE patient SET version_id = ?, last_updated = ?, last_updated_ms = ?, state = ?, resource = ?,
           sort_family = ?, sort_given = ?, sort_birthdate = ?, sort_gender = ?
         WHERE id = ? AND version_id = ?`,
      ),
      insertHistory: p(
        `INSERT INTO patient_history (id, version_id, last_updated, last_updated_ms, state, resource)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      insertIndex: p(
        `INSERT INTO patient_search (patient_id, seq, param, text, exact, system, code, low, high, ref)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteIndex: p('DELETE FROM patient_search WHERE patient_id = ?'),
      keyHolder: p<{ patient_id: string }>('SELECT patient_id FROM patient_unique WHERE key = ?'),
      insertKey: p('INSERT OR IGNORE INTO patient_unique (key, kind, patient_id) VALUES (?, ?, ?)'),
      releaseKeys: p('DELETE FROM patient_unique WHERE patient_id = ?'),
    } satisfies Record<string, Statement<unknown[], unknown>>;

    this.createTx = db.transaction((record: PatientRecord) => {
      const id = record.resource.id;
      if (this.sql.currentVersion.get(id)) {
        throw errors.conflict(ErrorCode.VERSION_CONFLICT, 'A patient with this id already exists');
      }
      this.claimKeys(id, record.uniqueKeys);
      const v = versionOf(record);
      this.sql.insertCurrent.run(id, v.version, v.lastUpdated, v.lastUpdatedMs, record.state, v.json, ...sortValues(record));
      this.writeHistoryAndIndex(record, v);
    });

    this.updateTx = db.transaction((record: PatientRecord, expectedVersionId: string) => {
      const id = record.resource.id;
      const current = this.sql.currentVersion.get(id);
      if (!current) throw errors.notFound();
      if (String(current.version_id) !== expectedVersionId) {
        throw errors.preconditionFailed(ErrorCode.VERSION_CONFLICT, 'The patient was changed by someone else (version conflict)');
      }
      this.sql.releaseKeys.run(id);
      this.claimKeys(id, record.uniqueKeys);
      const v = versionOf(record);
      if (v.version <= current.version_id) throw errors.internal();
      this.sql.updateCurrent.run(
        v.version, v.lastUpdated, v.lastUpdatedMs, record.state, v.json, ...sortValues(record), id, current.version_id,
      );
      this.sql.deleteIndex.run(id);
      this.writeHistoryAndIndex(record, v);
    });
  }

  create(record: PatientRecord): void {
    this.createTx.immediate(record);
  }

  update(record: PatientRecord, expectedVersionId: string): void {
    this.updateTx.immediate(record, expectedVersionId);
  }

  read(id: string): StoredPatient | undefined {
    return toStored(this.sql.read.get(id));
  }

  readVersion(id: string, versionId: string): StoredPatient | undefined {
    if (!/^[1-9]\d{0,14}$/.test(versionId)) return undefined;
    return toStored(this.sql.readVersion.get(id, Number(versionId)));
  }

  history(id: string, query: HistoryQuery): HistoryPage {
    const since = query.since ?? Number.MIN_SAFE_INTEGER;
    const before = query.beforeVersion ?? Number.MAX_SAFE_INTEGER;
    const count = Math.max(0, Math.floor(query.count));
    const rows = this.sql.history.all(id, since, before, count + 1);
    const total = this.sql.historyTotal.get(id, since)?.n ?? 0;
    return {
      versions: rows.slice(0, count).map((row) => toStored(row)!),
      total,
      hasMore: rows.length > count,
    };
  }

  /** Claims `keys` for `patientId`; a key another patient holds fails the whole write with 409. */
  private claimKeys(patientId: string, keys: readonly UniqueKey[]): void {
    const taken = new Set<UniqueKey['kind']>();
    for (const key of keys) {
      const id = uniqueKeyId(key);
      const holder = this.sql.keyHolder.get(id);
      if (holder && holder.patient_id !== patientId) taken.add(key.kind);
      else if (!holder) this.sql.insertKey.run(id, key.kind, patientId);
    }
    if (taken.size > 0) throw uniqueKeyConflict(taken);
  }

  private writeHistoryAndIndex(record: PatientRecord, v: VersionColumns): void {
    const id = record.resource.id;
    this.sql.insertHistory.run(id, v.version, v.lastUpdated, v.lastUpdatedMs, record.state, v.json);
    for (const [seq, e] of record.index.entries()) {
      this.sql.insertIndex.run(
        id, seq, e.param, e.text ?? null, e.exact ?? null, e.system ?? null, e.code ?? null,
        e.low ?? null, e.high ?? null, e.ref ?? null,
      );
    }
  }
}

interface VersionColumns {
  version: number;
  lastUpdated: string;
  lastUpdatedMs: number;
  json: string;
}

/** The columns every version row shares. A record without a numeric version or a valid instant is a caller bug. */
function versionOf(record: PatientRecord): VersionColumns {
  const { versionId, lastUpdated } = record.resource.meta;
  const lastUpdatedMs = Date.parse(lastUpdated);
  if (!/^[1-9]\d{0,14}$/.test(versionId) || Number.isNaN(lastUpdatedMs)) throw errors.internal();
  return { version: Number(versionId), lastUpdated, lastUpdatedMs, json: JSON.stringify(record.resource) };
}

function sortValues(record: PatientRecord): [string | null, string | null, number | null, string | null] {
  const s = record.sort;
  return [s.family ?? null, s.given ?? null, s.birthdate ?? null, s.gender ?? null];
}

function toStored(row: ResourceRow | undefined): StoredPatient | undefined {
  return row && { resource: JSON.parse(row.resource), state: row.state };
}
