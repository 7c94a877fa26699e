import { toJobId, type JobParameters } from 'agenda';

/** One `agenda_jobs` row as better-sqlite3 returns it. */
export interface JobRow {
  seq: number;
  id: string;
  name: string;
  priority: number;
  next_run_at: number | null;
  type: string;
  locked_at: number | null;
  last_finished_at: number | null;
  failed_at: number | null;
  fail_count: number | null;
  fail_reason: string | null;
  repeat_timezone: string | null;
  last_run_at: number | null;
  repeat_interval: string | number | null;
  repeat_at: string | null;
  data: string | null;
  disabled: number | null;
  progress: number | null;
  last_modified_by: string | null;
  fork: number | null;
  debounce_started_at: number | null;
  start_date: number | null;
  end_date: number | null;
  skip_days: string | null;
}

/** A column value ready to bind: what better-sqlite3 accepts. */
export type ColumnValue = string | number | null;

/** Job fields the job processor owns; `Job.save()` leaves them out and saving must not clear them. */
export const PROCESSOR_FIELDS = [
  'lockedAt',
  'lastRunAt',
  'lastFinishedAt',
  'failedAt',
  'failCount',
  'failReason',
  'progress',
] as const;

/** Epoch milliseconds of a Date (or a date string/number that crossed a JSON boundary), NULL when unset. */
export function toMillis(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const ms = value instanceof Date ? value.getTime() : new Date(value as string | number).getTime();
  return Number.isNaN(ms) ? null : ms;
}

function toDate(ms: number | null): Date | undefined {
  return ms === null ? undefined : new Date(ms);
}

function toFlag(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return value ? 1 : 0;
}

function fromFlag(value: number | null): boolean | undefined {
  return value === null ? undefined : value === 1;
}

/**
 * The column values of a job, keyed by column name. Unset optional fields become NULL, as the MongoDB
 * backend stores them as `null`. `data` is JSON text (`undefined` data is stored as JSON `null`).
 */
export function jobToColumns(job: JobParameters, lastModifiedBy: string | undefined): Record<string, ColumnValue> {
  return {
    name: job.name,
    priority: job.priority ?? 0,
    next_run_at: toMillis(job.nextRunAt),
    type: job.type ?? 'normal',
    locked_at: toMillis(job.lockedAt),
    last_finished_at: toMillis(job.lastFinishedAt),
    failed_at: toMillis(job.failedAt),
    fail_count: job.failCount ?? null,
    fail_reason: job.failReason ?? null,
    repeat_timezone: job.repeatTimezone ?? null,
    last_run_at: toMillis(job.lastRunAt),
    repeat_interval: job.repeatInterval ?? null,
    repeat_at: job.repeatAt ?? null,
    data: JSON.stringify(job.data ?? null),
    disabled: toFlag(job.disabled),
    progress: job.progress ?? null,
    last_modified_by: lastModifiedBy ?? null,
    fork: toFlag(job.fork),
    debounce_started_at: toMillis(job.debounceStartedAt),
    start_date: toMillis(job.startDate),
    end_date: toMillis(job.endDate),
    skip_days: job.skipDays ? JSON.stringify(job.skipDays) : null,
  };
}

/** Column name of each processor-managed job field. */
export const PROCESSOR_COLUMNS: Record<(typeof PROCESSOR_FIELDS)[number], string> = {
  lockedAt: 'locked_at',
  lastRunAt: 'last_run_at',
  lastFinishedAt: 'last_finished_at',
  failedAt: 'failed_at',
  failCount: 'fail_count',
  failReason: 'fail_reason',
  progress: 'progress',
};

/**
 * The columns a save writes to an existing job: every column, except processor-managed ones the job
 * object does not carry (`Job.save()` sends `toJson(true)`, which omits them), so saving a job another
 * process is running keeps its lock and run times.
 */
export function columnsForUpdate(job: JobParameters, lastModifiedBy: string | undefined): Record<string, ColumnValue> {
  const columns = jobToColumns(job, lastModifiedBy);
  for (const field of PROCESSOR_FIELDS) {
    if (!Object.hasOwn(job, field)) delete columns[PROCESSOR_COLUMNS[field]];
  }
  return columns;
}

/** The job a row holds, shaped like the MongoDB backend's (`undefined` for every unset optional field). */
export function rowToJob<DATA = unknown>(row: JobRow): JobParameters<DATA> {
  return {
    _id: toJobId(row.id),
    name: row.name,
    priority: row.priority,
    nextRunAt: row.next_run_at === null ? null : new Date(row.next_run_at),
    type: row.type === 'single' ? 'single' : 'normal',
    data: (row.data === null ? null : JSON.parse(row.data)) as DATA,
    lockedAt: toDate(row.locked_at),
    lastFinishedAt: toDate(row.last_finished_at),
    failedAt: toDate(row.failed_at),
    failCount: row.fail_count ?? undefined,
    failReason: row.fail_reason ?? undefined,
    repeatTimezone: row.repeat_timezone ?? undefined,
    lastRunAt: toDate(row.last_run_at),
    repeatInterval: row.repeat_interval ?? undefined,
    repeatAt: row.repeat_at ?? undefined,
    disabled: fromFlag(row.disabled),
    progress: row.progress ?? undefined,
    lastModifiedBy: row.last_modified_by ?? undefined,
    fork: fromFlag(row.fork),
    debounceStartedAt: toDate(row.debounce_started_at),
    startDate: toDate(row.start_date),
    endDate: toDate(row.end_date),
    skipDays: row.skip_days === null ? undefined : (JSON.parse(row.skip_days) as number[]),
  };
}
