import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { JobParameters } from 'agenda';
import { filterFromUnique, whereSql, type Where } from './job-filters.js';
import { columnsForUpdate, jobToColumns, toMillis, type ColumnValue, type JobRow } from './job-row.js';
import { AGENDA_JOBS_TABLE as T } from './schema.js';
import { StatementCache } from './statement-cache.js';

// the SQL here varies only with the set of columns and unique keys a caller uses: a handful of shapes
const statements = new StatementCache();

function insertRow(db: Database, columns: Record<string, ColumnValue>): JobRow {
  const names = ['id', ...Object.keys(columns)];
  const sql = `INSERT INTO ${T} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) RETURNING *`;
  return statements.get(db, sql).get(randomUUID(), ...Object.values(columns)) as JobRow;
}

function updateRow(db: Database, columns: Record<string, ColumnValue>, where: Where): JobRow | undefined {
  const sets = Object.keys(columns).map((c) => `${c} = ?`);
  const sql = `UPDATE ${T} SET ${sets.join(', ')} ${whereSql(where)} RETURNING *`;
  return statements.get(db, sql).get(...Object.values(columns), ...where.params) as JobRow | undefined;
}

function findFirst(db: Database, where: Where): JobRow | undefined {
  return statements.get(db, `SELECT * FROM ${T} ${whereSql(where)} ORDER BY seq LIMIT 1`).get(...where.params) as JobRow | undefined;
}

const byId = (id: string): Where => ({ sql: ['id = ?'], params: [id] });

/**
 * A `single` job (`agenda.every`): one row per name, updated in place. A `nextRunAt` already due is
 * only written when the row is new, so restarting a process does not push a pending run back.
 */
function saveSingle(db: Database, job: JobParameters, lastModifiedBy: string | undefined, now: number): JobRow {
  const existing = findFirst(db, { sql: ['name = ?', "type = 'single'"], params: [job.name] });
  if (!existing) return insertRow(db, jobToColumns(job, lastModifiedBy));
  const columns = columnsForUpdate(job, lastModifiedBy);
  const nextRunAt = toMillis(job.nextRunAt);
  if (nextRunAt !== null && nextRunAt <= now) delete columns.next_run_at;
  return updateRow(db, columns, byId(existing.id)) as JobRow;
}

/** A job with a `unique()` constraint: upsert on it, with `insertOnly` and debounce as in the MongoDB backend. */
function saveUnique(db: Database, job: JobParameters, lastModifiedBy: string | undefined, now: number): JobRow {
  const existing = findFirst(db, filterFromUnique(job.name, job.unique ?? {}));
  const debounce = job.uniqueOpts?.debounce;
  if (job.uniqueOpts?.insertOnly && !debounce && existing) return existing;
  const columns = existing ? columnsForUpdate(job, lastModifiedBy) : jobToColumns(job, lastModifiedBy);
  if (debounce) {
    if (existing) {
      const startedAt = existing.debounce_started_at ?? now;
      if (debounce.strategy === 'leading') {
        columns.next_run_at = existing.next_run_at;
        columns.debounce_started_at = startedAt;
      } else if (debounce.maxWait && now - startedAt >= debounce.maxWait) {
        columns.next_run_at = now;
        columns.debounce_started_at = null;
      } else {
        columns.next_run_at = now + debounce.delay;
        columns.debounce_started_at = startedAt;
      }
    } else {
      if (debounce.strategy !== 'leading') columns.next_run_at = now + debounce.delay;
      columns.debounce_started_at = now;
    }
  }
  return existing ? (updateRow(db, columns, byId(existing.id)) as JobRow) : insertRow(db, columns);
}

/**
 * Saves a job as the MongoDB backend does: by `_id` when it has one (the job is returned unchanged if
 * its row is gone), else upsert by name for `single` jobs, else upsert on `unique`, else insert.
 * Read-then-write paths run in one `BEGIN IMMEDIATE` transaction, so processes sharing the file cannot
 * both insert the same `single`/unique job. Returns the saved row, or `undefined` for a vanished `_id`.
 */
export function saveJobRow(
  db: Database,
  job: JobParameters,
  lastModifiedBy: string | undefined,
  now = Date.now(),
): JobRow | undefined {
  if (job._id) {
    const where: Where = { sql: ['id = ?', 'name = ?'], params: [String(job._id), job.name] };
    return updateRow(db, columnsForUpdate(job, lastModifiedBy), where);
  }
  if (job.type === 'single') {
    return db.transaction(() => saveSingle(db, job, lastModifiedBy, now)).immediate();
  }
  if (job.unique) {
    return db.transaction(() => saveUnique(db, job, lastModifiedBy, now)).immediate();
  }
  return insertRow(db, jobToColumns(job, lastModifiedBy));
}
