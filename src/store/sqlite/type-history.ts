import type { Database, Statement } from 'better-sqlite3';
import type { PatientState, TypeHistoryPage, TypeHistoryQuery } from '../port.js';

interface HistoryRow {
  resource: string;
  state: PatientState;
  last_updated_ms: number;
  id: string;
  version_id: number;
}

const statements = new WeakMap<Database, Statement<unknown[], HistoryRow>>();

/**
 * Type-level history on SQLite: a keyset walk down the `patient_history_updated` index
 * `(last_updated_ms, id, version_id)`. The row-value comparison lets SQLite seek to the cursor, so
 * every page costs the same.
 */
export function historyAcrossPatients(db: Database, query: TypeHistoryQuery): TypeHistoryPage {
  let statement = statements.get(db);
  if (!statement) {
    statement = db.prepare<unknown[], HistoryRow>(
      `SELECT resource, state, last_updated_ms, id, version_id FROM patient_history
       WHERE last_updated_ms >= ? AND (last_updated_ms, id, version_id) < (?, ?, ?)
       ORDER BY last_updated_ms DESC, id DESC, version_id DESC LIMIT ?`,
    );
    statements.set(db, statement);
  }
  const count = Math.max(0, Math.floor(query.count));
  const after = query.after ?? { lastUpdatedMs: Number.MAX_SAFE_INTEGER, id: '', versionId: 0 };
  const rows = statement.all(query.since ?? Number.MIN_SAFE_INTEGER, after.lastUpdatedMs, after.id, after.versionId, count + 1);
  const page = rows.slice(0, count);
  const last = page.at(-1);
  return {
    versions: page.map((row) => ({ resource: JSON.parse(row.resource), state: row.state })),
    ...(rows.length > count && last ? { next: { lastUpdatedMs: last.last_updated_ms, id: last.id, versionId: last.version_id } } : {}),
  };
}
