import type { Database } from 'better-sqlite3';
import {
  computeJobState,
  type JobId,
  type JobParameters,
  type JobRepository,
  type JobRepositoryOptions,
  type JobsOverview,
  type JobsQueryOptions,
  type JobsResult,
  type JobWithState,
  type RemoveJobsOptions,
} from 'agenda';
import { filterFromOptions, filterFromQuery, orderBy, whereSql } from './job-filters.js';
import { rowToJob, toMillis, type JobRow } from './job-row.js';
import { saveJobRow } from './job-save.js';
import { AGENDA_JOBS_TABLE as T, createAgendaJobsSchema } from './schema.js';
import { StatementCache } from './statement-cache.js';

/** Runs synchronous SQLite work on the connection, e.g. `SqliteStore.withDb`, which waits for open transactions. */
export type SqliteExecutor = <R>(work: (db: Database) => R) => Promise<R>;

/** How to build a {@link SqliteJobRepository}. */
export interface SqliteJobRepositoryOptions {
  /** The better-sqlite3 connection (e.g. `SqliteStore.db`); the repository never closes it. */
  db: Database;
  /** Executor for every database call; defaults to calling `work(db)` directly. */
  run?: SqliteExecutor | undefined;
}

const NOT_DISABLED = '(disabled IS NULL OR disabled <> 1)';

/**
 * Lock the best due job of a name in one statement. A single UPDATE takes SQLite's write lock before
 * it reads, so the sub-select and the update see the same state and two connections (or processes)
 * can never lock the same row. Due = unlocked with `nextRunAt <= nextScanAt`, or locked before the
 * lock deadline (lock lifetime expired); disabled jobs never; order `nextRunAt` ascending (NULL
 * first, as in MongoDB) then `priority` descending — the MongoDB backend's default sort.
 */
const NEXT_JOB_SQL = `
UPDATE ${T} SET locked_at = ?, last_modified_by = ?
WHERE seq = (
  SELECT seq FROM ${T}
  WHERE name = ? AND ${NOT_DISABLED}
    AND ((locked_at IS NULL AND next_run_at <= ?) OR locked_at <= ?)
  ORDER BY next_run_at ASC, priority DESC, seq ASC
  LIMIT 1
)
RETURNING *`;

/** Lock one known job if it is still unlocked, enabled and scheduled where the caller saw it. */
const LOCK_JOB_SQL = `
UPDATE ${T} SET locked_at = ?, last_modified_by = ?
WHERE id = ? AND name = ? AND locked_at IS NULL AND next_run_at IS ? AND ${NOT_DISABLED}
RETURNING *`;

const SAVE_STATE_SQL = `
UPDATE ${T} SET locked_at = ?, next_run_at = ?, last_run_at = ?, progress = ?, fail_reason = ?,
  fail_count = ?, failed_at = ?, last_finished_at = ?, last_modified_by = ?
WHERE id = ? AND name = ?`;

/**
 * Agenda's {@link JobRepository} on SQLite (table `agenda_jobs`), with the MongoDB backend's semantics.
 * Every lock is taken by one atomic `UPDATE … RETURNING` in the database, never by in-memory state, so
 * several server processes can share one SQLite file.
 */
export class SqliteJobRepository implements JobRepository {
  private readonly db: Database;
  private readonly run: SqliteExecutor;
  private readonly statements = new StatementCache();
  private schemaReady = false;
  /** Why the last {@link connect} could not create the schema (it is retried on the next call). */
  connectError: unknown;

  constructor(options: SqliteJobRepositoryOptions) {
    this.db = options.db;
    this.run = options.run ?? (async (work) => work(this.db));
  }

  /** Creates the schema if needed; rejects when the database cannot be used. */
  async ensureSchema(): Promise<void> {
    await this.exec(() => undefined);
  }

  /**
   * Agenda calls this from its constructor without a catch, so it never rejects: a failure is kept in
   * {@link connectError} and the schema creation is retried by the next call. Call
   * {@link ensureSchema} first to fail fast on a bad database.
   */
  async connect(): Promise<void> {
    try {
      await this.ensureSchema();
      this.connectError = undefined;
    } catch (err) {
      this.connectError = err;
    }
  }

  /** The connection belongs to its opener (the store): nothing to close. */
  async disconnect(): Promise<void> {}

  async getJobById(id: string): Promise<JobParameters | null> {
    const row = await this.exec((db) => this.sql(db, `SELECT * FROM ${T} WHERE id = ?`).get(String(id)) as JobRow | undefined);
    return row ? rowToJob(row) : null;
  }

  async queryJobs(options: JobsQueryOptions = {}): Promise<JobsResult> {
    const { state, skip = 0, limit = 0 } = options;
    const where = filterFromQuery(options);
    const now = new Date();
    const withState = (row: JobRow): JobWithState => {
      const job = rowToJob(row) as JobParameters & { _id: JobId };
      return { ...job, state: computeJobState(job, now) };
    };
    const base = `SELECT * FROM ${T} ${whereSql(where)} ${orderBy(options.sort)}`;
    if (!state) {
      // without a state filter pagination happens in SQL
      const page = limit > 0 || skip > 0 ? ` LIMIT ${limit > 0 ? Math.floor(limit) : -1} OFFSET ${Math.max(0, Math.floor(skip))}` : '';
      return this.exec((db) => {
        const rows = db.prepare(base + page).all(...where.params) as JobRow[];
        const count = db.prepare(`SELECT COUNT(*) AS n FROM ${T} ${whereSql(where)}`).get(...where.params) as { n: number };
        return { jobs: rows.map(withState), total: count.n };
      });
    }
    const rows = await this.exec((db) => db.prepare(base).all(...where.params) as JobRow[]);
    const matching = rows.map(withState).filter((job) => (state === 'paused' ? job.disabled === true : job.state === state));
    const jobs = limit > 0 ? matching.slice(skip, skip + limit) : matching.slice(skip);
    return { jobs, total: matching.length };
  }

  async getJobsOverview(): Promise<JobsOverview[]> {
    const now = new Date();
    const rows = await this.exec((db) => this.sql(db, `SELECT * FROM ${T} ORDER BY name, seq`).all() as JobRow[]);
    const byName = new Map<string, JobsOverview>();
    for (const row of rows) {
      let overview = byName.get(row.name);
      if (!overview) {
        overview = { name: row.name, total: 0, running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 };
        byName.set(row.name, overview);
      }
      const job = rowToJob(row);
      overview.total++;
      overview[computeJobState(job, now)]++;
      if (job.disabled === true) overview.paused++;
    }
    return [...byName.values()];
  }

  async getDistinctJobNames(): Promise<string[]> {
    const rows = await this.exec((db) => this.sql(db, `SELECT DISTINCT name FROM ${T} ORDER BY name`).all() as { name: string }[]);
    return rows.map((r) => r.name);
  }

  async getQueueSize(): Promise<number> {
    const now = Date.now();
    const row = await this.exec((db) => this.sql(db, `SELECT COUNT(*) AS n FROM ${T} WHERE next_run_at < ?`).get(now) as { n: number });
    return row.n;
  }

  async removeJobs(options: RemoveJobsOptions): Promise<number> {
    const where = filterFromOptions(options);
    if (!where) return 0;
    return this.exec((db) => db.prepare(`DELETE FROM ${T} ${whereSql(where)}`).run(...where.params).changes);
  }

  async saveJob<DATA = unknown>(job: JobParameters<DATA>, options: JobRepositoryOptions | undefined): Promise<JobParameters<DATA>> {
    const row = await this.exec((db) => saveJobRow(db, job as JobParameters, options?.lastModifiedBy));
    // a job whose row vanished comes back unchanged, as in the MongoDB backend
    return row ? rowToJob<DATA>(row) : job;
  }

  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<void> {
    if (!job._id) throw new Error('Cannot save job state without job ID');
    const params = [
      toMillis(job.lockedAt),
      toMillis(job.nextRunAt),
      toMillis(job.lastRunAt),
      job.progress ?? null,
      job.failReason ?? null,
      job.failCount ?? null,
      toMillis(job.failedAt),
      toMillis(job.lastFinishedAt),
      options?.lastModifiedBy ?? null,
      String(job._id),
      job.name,
    ];
    const changes = await this.exec((db) => this.sql(db, SAVE_STATE_SQL).run(...params).changes);
    if (changes !== 1) {
      throw new Error(`job ${job._id} (name: ${job.name}) cannot be updated in the database, maybe it does not exist anymore?`);
    }
  }

  async lockJob(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    if (!job._id) return undefined;
    const params = [Date.now(), options?.lastModifiedBy ?? null, String(job._id), job.name, toMillis(job.nextRunAt)];
    const row = await this.exec((db) => this.sql(db, LOCK_JOB_SQL).get(...params) as JobRow | undefined);
    return row ? rowToJob(row) : undefined;
  }

  async unlockJob(job: JobParameters): Promise<void> {
    if (!job._id) return;
    const id = String(job._id);
    // only jobs not being processed (a running one-off job has nextRunAt null) are unlocked
    await this.exec((db) => this.sql(db, `UPDATE ${T} SET locked_at = NULL WHERE id = ? AND next_run_at IS NOT NULL`).run(id));
  }

  async unlockJobs(jobIds: (JobId | string)[]): Promise<void> {
    if (jobIds.length === 0) return;
    const ids = jobIds.map(String);
    await this.exec((db) => db.prepare(`UPDATE ${T} SET locked_at = NULL WHERE id IN (${ids.map(() => '?').join(', ')})`).run(...ids));
  }

  async getNextJobToRun(
    jobName: string,
    nextScanAt: Date,
    lockDeadline: Date,
    now: Date | undefined,
    options: JobRepositoryOptions | undefined,
  ): Promise<JobParameters | undefined> {
    const lockTime = (now ?? new Date()).getTime();
    const params = [lockTime, options?.lastModifiedBy ?? null, jobName, nextScanAt.getTime(), lockDeadline.getTime()];
    const row = await this.exec((db) => this.sql(db, NEXT_JOB_SQL).get(...params) as JobRow | undefined);
    return row ? rowToJob(row) : undefined;
  }

  async disableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.setDisabled(options, 1);
  }

  async enableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.setDisabled(options, 0);
  }

  async purgeAllJobs(): Promise<number> {
    return this.exec((db) => this.sql(db, `DELETE FROM ${T}`).run().changes);
  }

  /** Counts only rows that changed, like MongoDB's `modifiedCount`. */
  private async setDisabled(options: RemoveJobsOptions, flag: 0 | 1): Promise<number> {
    const where = filterFromOptions(options);
    if (!where) return 0;
    const sql = `UPDATE ${T} SET disabled = ${flag} ${whereSql(where)} AND disabled IS NOT ${flag}`;
    return this.exec((db) => db.prepare(sql).run(...where.params).changes);
  }

  private sql(db: Database, text: string) {
    return this.statements.get(db, text);
  }

  /** Runs `work` through the executor, creating the schema first if this repository has not yet. */
  private exec<R>(work: (db: Database) => R): Promise<R> {
    return this.run((db) => {
      if (!this.schemaReady) {
        createAgendaJobsSchema(db);
        this.schemaReady = true;
      }
      return work(db);
    });
  }
}
