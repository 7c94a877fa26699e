import type { Database } from 'better-sqlite3';
import type { PatientStore } from '../store/port.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { MongoStore } from '../store/mongo/mongo-store.js';
import { errors } from '../fhir/outcome.js';

/**
 * The outcome of one operation job (`$restore`, `$anonymize`), kept so `GET /fhir/$job/{id}` and
 * a waiting request can answer it, from any process. Ids, a status and a stable code only: no PHI.
 * A successful result names the Patient version it produced; the resource is re-read when served.
 */
export interface JobResultRecord {
  jobId: string;
  /** HTTP status of the operation: 200, or the refusal's (404, 409 …). */
  status: number;
  patientId: string;
  /** Version written by the operation (success only). */
  versionId?: string;
  /** Stable error code (failure only), e.g. `NOT_DELETED`. */
  errorCode?: string;
  /** The refusal's diagnostics (never PHI, by the house rule on diagnostics). */
  diagnostics?: string;
  finishedAt: string;
}

/** SQLite table / MongoDB collection of job results. */
export const JOB_RESULT_TABLE = 'job_result';
const MONGO_COLLECTION = 'job_results';

const TABLE_SQL = `
CREATE TABLE IF NOT EXISTS ${JOB_RESULT_TABLE} (
  job_id TEXT PRIMARY KEY,
  status INTEGER NOT NULL,
  patient_id TEXT NOT NULL,
  version_id TEXT,
  error_code TEXT,
  diagnostics TEXT,
  finished_at TEXT NOT NULL
) STRICT`;

const ensured = new WeakSet<Database>();

/** Creates the SQLite `job_result` table once per connection (idempotent, safe across processes). */
export function ensureJobResultTable(db: Database): void {
  if (ensured.has(db)) return;
  db.exec(TABLE_SQL);
  ensured.add(db);
}

interface ResultRow {
  job_id: string;
  status: number;
  patient_id: string;
  version_id: string | null;
  error_code: string | null;
  diagnostics: string | null;
  finished_at: string;
}

interface ResultDocument {
  _id: string;
  status: number;
  patientId: string;
  versionId?: string;
  errorCode?: string;
  diagnostics?: string;
  finishedAt: string;
}

/**
 * Stores a job's result. Call it on the `tx` store of the operation's transaction, so the change,
 * its event, its AuditEvent and its result commit together. Writing the same job twice keeps the first.
 */
export async function putJobResult(tx: PatientStore, result: JobResultRecord): Promise<void> {
  if (tx instanceof SqliteStore) {
    await tx.withDb((db) => {
      ensureJobResultTable(db);
      db.prepare(
        `INSERT INTO ${JOB_RESULT_TABLE} (job_id, status, patient_id, version_id, error_code, diagnostics, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING`,
      ).run(result.jobId, result.status, result.patientId, result.versionId ?? null, result.errorCode ?? null, result.diagnostics ?? null, result.finishedAt);
    });
    return;
  }
  if (tx instanceof MongoStore) {
    // `_id` comes from the filter on insert
    const doc: Omit<ResultDocument, '_id'> = {
      status: result.status,
      patientId: result.patientId,
      ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
      ...(result.errorCode !== undefined ? { errorCode: result.errorCode } : {}),
      ...(result.diagnostics !== undefined ? { diagnostics: result.diagnostics } : {}),
      finishedAt: result.finishedAt,
    };
    const session = tx.session;
    await tx.database
      .collection<ResultDocument>(MONGO_COLLECTION)
      .updateOne({ _id: result.jobId }, { $setOnInsert: doc }, { upsert: true, ...(session ? { session } : {}) });
    return;
  }
  throw errors.internal();
}

/** The stored result of a job, or `undefined` while it has none (queued, running, or unknown). */
export async function getJobResult(store: PatientStore, jobId: string): Promise<JobResultRecord | undefined> {
  if (store instanceof SqliteStore) {
    const row = await store.withDb((db) => {
      ensureJobResultTable(db);
      return db.prepare(`SELECT * FROM ${JOB_RESULT_TABLE} WHERE job_id = ?`).get(jobId) as ResultRow | undefined;
    });
    if (!row) return undefined;
    return {
      jobId: row.job_id,
      status: row.status,
      patientId: row.patient_id,
      ...(row.version_id !== null ? { versionId: row.version_id } : {}),
      ...(row.error_code !== null ? { errorCode: row.error_code } : {}),
      ...(row.diagnostics !== null ? { diagnostics: row.diagnostics } : {}),
      finishedAt: row.finished_at,
    };
  }
  if (store instanceof MongoStore) {
    const session = store.session;
    const doc = await store.database
      .collection<ResultDocument>(MONGO_COLLECTION)
      .findOne({ _id: jobId }, session ? { session } : {});
    if (!doc) return undefined;
    const { _id, ...rest } = doc;
    return { jobId: _id, ...rest };
  }
  throw errors.internal();
}
