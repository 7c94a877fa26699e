import type { Database } from 'better-sqlite3';

/** The table that holds Agenda's jobs on SQLite. */
export const AGENDA_JOBS_TABLE = 'agenda_jobs';

/**
 * The `agenda_jobs` table. Dates are epoch milliseconds (INTEGER, NULL when unset), `data` and
 * `skip_days` are JSON text, `disabled`/`fork` are 0/1/NULL (NULL kept apart from 0, as MongoDB keeps
 * `null` apart from `false`). `repeat_interval` has no declared type so a number stays a number and a
 * string ('5 minutes') stays a string. `seq` orders rows by insertion, like MongoDB's natural order.
 */
const TABLE_SQL = `
CREATE TABLE IF NOT EXISTS ${AGENDA_JOBS_TABLE} (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  next_run_at INTEGER,
  type TEXT NOT NULL DEFAULT 'normal',
  locked_at INTEGER,
  last_finished_at INTEGER,
  failed_at INTEGER,
  fail_count INTEGER,
  fail_reason TEXT,
  repeat_timezone TEXT,
  last_run_at INTEGER,
  repeat_interval,
  repeat_at TEXT,
  data TEXT,
  disabled INTEGER,
  progress REAL,
  last_modified_by TEXT,
  fork INTEGER,
  debounce_started_at INTEGER,
  start_date INTEGER,
  end_date INTEGER,
  skip_days TEXT
)`;

/**
 * Indexes: the next-job query (`name`, then due jobs by `next_run_at`/`priority`, or expired locks by
 * `locked_at`, skipping `disabled`), the queue-size count (`next_run_at`) and `single` upserts (`name`,
 * `type`).
 */
const INDEX_SQL = [
  `CREATE INDEX IF NOT EXISTS ${AGENDA_JOBS_TABLE}_next_job
     ON ${AGENDA_JOBS_TABLE} (name, next_run_at, priority DESC, locked_at, disabled)`,
  `CREATE INDEX IF NOT EXISTS ${AGENDA_JOBS_TABLE}_expired_lock
     ON ${AGENDA_JOBS_TABLE} (name, locked_at)`,
  `CREATE INDEX IF NOT EXISTS ${AGENDA_JOBS_TABLE}_due
     ON ${AGENDA_JOBS_TABLE} (next_run_at)`,
  `CREATE INDEX IF NOT EXISTS ${AGENDA_JOBS_TABLE}_name_type
     ON ${AGENDA_JOBS_TABLE} (name, type)`,
];

/**
 * Creates the `agenda_jobs` table and its indexes if they do not exist yet. Idempotent, safe to run
 * from several processes on one file (each statement waits on SQLite's lock through `busy_timeout`).
 */
export function createAgendaJobsSchema(db: Database): void {
  db.exec(TABLE_SQL);
  for (const sql of INDEX_SQL) db.exec(sql);
}
