import type { JobsQueryOptions, JobsSort, RemoveJobsOptions } from 'agenda';
import { toMillis, type ColumnValue } from './job-row.js';

/** A WHERE clause as ANDed SQL fragments and their bound values. */
export interface Where {
  sql: string[];
  params: ColumnValue[];
}

/** The SQL text of a {@link Where}: `WHERE a AND b`, or nothing when it has no condition. */
export function whereSql(where: Where): string {
  return where.sql.length === 0 ? '' : `WHERE ${where.sql.join(' AND ')}`;
}

/** Column of each top-level job field (what `unique()` keys and sorts may name). */
const FIELD_COLUMNS: Record<string, string> = {
  _id: 'id',
  name: 'name',
  priority: 'priority',
  nextRunAt: 'next_run_at',
  type: 'type',
  lockedAt: 'locked_at',
  lastFinishedAt: 'last_finished_at',
  failedAt: 'failed_at',
  failCount: 'fail_count',
  failReason: 'fail_reason',
  repeatTimezone: 'repeat_timezone',
  lastRunAt: 'last_run_at',
  repeatInterval: 'repeat_interval',
  repeatAt: 'repeat_at',
  disabled: 'disabled',
  progress: 'progress',
  lastModifiedBy: 'last_modified_by',
  fork: 'fork',
  debounceStartedAt: 'debounce_started_at',
  startDate: 'start_date',
  endDate: 'end_date',
};

const DATE_COLUMNS = new Set(['next_run_at', 'locked_at', 'last_finished_at', 'failed_at', 'last_run_at', 'debounce_started_at', 'start_date', 'end_date']);
const FLAG_COLUMNS = new Set(['disabled', 'fork']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function jsonPath(segments: readonly string[]): string {
  return `$${segments.map((s) => `."${s.replaceAll('"', '\\"')}"`).join('')}`;
}

/** `data` at `segments` equals `value` (null matches a missing or null member, as in MongoDB). */
function dataEquals(where: Where, segments: readonly string[], value: unknown): void {
  const path = jsonPath(segments);
  if (value === null || value === undefined) {
    where.sql.push('json_extract(data, ?) IS NULL');
    where.params.push(path);
  } else if (typeof value === 'boolean') {
    where.sql.push('json_type(data, ?) = ?');
    where.params.push(path, value ? 'true' : 'false');
  } else if (typeof value === 'number' || typeof value === 'string') {
    where.sql.push('json_extract(data, ?) = ?');
    where.params.push(path, value);
  } else if (value instanceof Date) {
    where.sql.push('json_extract(data, ?) = ?');
    where.params.push(path, value.toISOString());
  } else {
    where.sql.push('json_extract(data, ?) = json(?)');
    where.params.push(path, JSON.stringify(value));
  }
}

/**
 * Adds a `data` filter: a plain object matches partially, member by member (nested objects by their
 * members, like the MongoDB backend's dot-notation flattening); anything else matches `data` exactly.
 */
export function addDataFilter(where: Where, data: unknown, prefix: readonly string[] = []): void {
  if (prefix.length === 0 && !isPlainObject(data)) {
    where.sql.push('data = ?');
    where.params.push(JSON.stringify(data ?? null));
    return;
  }
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (isPlainObject(value)) addDataFilter(where, value, [...prefix, key]);
    else dataEquals(where, [...prefix, key], value);
  }
}

function addIn(where: Where, column: string, values: readonly string[], negate = false): void {
  where.sql.push(`${column} ${negate ? 'NOT IN' : 'IN'} (${values.map(() => '?').join(', ')})`);
  where.params.push(...values);
}

/** The filter of `removeJobs`/`disableJobs`/`enableJobs`; `null` when the options name no job. */
export function filterFromOptions(options: RemoveJobsOptions): Where | null {
  const where: Where = { sql: [], params: [] };
  if (options.id) {
    where.sql.push('id = ?');
    where.params.push(String(options.id));
  } else if (Array.isArray(options.ids) && options.ids.length > 0) {
    addIn(where, 'id', options.ids.map(String));
  }
  const names = Array.isArray(options.names) ? options.names.filter((n) => typeof n === 'string') : [];
  const notNames = Array.isArray(options.notNames) ? options.notNames.filter((n) => typeof n === 'string') : [];
  if (options.name && typeof options.name === 'string') {
    where.sql.push('name = ?');
    where.params.push(options.name);
  } else if (names.length > 0) {
    addIn(where, 'name', names);
  } else if (notNames.length > 0) {
    addIn(where, 'name', notNames, true);
  }
  if (options.data !== undefined) addDataFilter(where, options.data);
  return where.sql.length === 0 ? null : where;
}

/** The filter of `queryJobs` (the computed-state filter is applied afterwards, in code). */
export function filterFromQuery(options: JobsQueryOptions): Where {
  const where: Where = { sql: [], params: [] };
  const names = Array.isArray(options.names) ? options.names.filter((n) => typeof n === 'string') : [];
  if (options.search && typeof options.search === 'string') {
    // like the MongoDB backend, a search replaces the name filter
    where.sql.push(`name LIKE ? ESCAPE '\\'`);
    where.params.push(`%${options.search.replace(/[\\%_]/g, '\\$&')}%`);
  } else if (options.name && typeof options.name === 'string') {
    where.sql.push('name = ?');
    where.params.push(options.name);
  } else if (names.length > 0) {
    addIn(where, 'name', names);
  }
  const ids = Array.isArray(options.ids) ? options.ids.filter((i) => typeof i === 'string') : [];
  if (options.id && typeof options.id === 'string') {
    where.sql.push('id = ?');
    where.params.push(options.id);
  } else if (ids.length > 0) {
    addIn(where, 'id', ids);
  }
  if (options.data !== undefined) addDataFilter(where, options.data);
  if (options.includeDisabled === false) where.sql.push('(disabled IS NULL OR disabled <> 1)');
  return where;
}

const SORT_COLUMNS: readonly [keyof JobsSort, string][] = [
  ['nextRunAt', 'next_run_at'],
  ['lastRunAt', 'last_run_at'],
  ['lastFinishedAt', 'last_finished_at'],
  ['priority', 'priority'],
  ['name', 'name'],
  ['data', 'data'],
];

/**
 * ORDER BY of `queryJobs`: the MongoDB backend's key order, default `nextRunAt` then `lastRunAt`
 * descending; SQLite sorts NULL first ascending and last descending, as MongoDB does. Insertion order
 * breaks ties.
 */
export function orderBy(sort: JobsSort | undefined): string {
  const terms = SORT_COLUMNS.filter(([key]) => sort?.[key] !== undefined).map(
    ([key, column]) => `${column} ${sort?.[key] === 'asc' ? 'ASC' : 'DESC'}`,
  );
  if (terms.length === 0) terms.push('next_run_at DESC', 'last_run_at DESC');
  return `ORDER BY ${[...terms, 'seq ASC'].join(', ')}`;
}

/**
 * The filter of a `unique()` constraint plus the job name: `data.<path>` keys compare JSON members,
 * other keys the job field's column, by equality only (query operators are rejected, which also rules
 * out the injection the MongoDB backend guards against).
 */
export function filterFromUnique(name: string, unique: Record<string, unknown>): Where {
  const where: Where = { sql: ['name = ?'], params: [name] };
  for (const [key, value] of Object.entries(unique)) {
    if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
      throw new Error('Query operators are not supported in a unique() constraint on SQLite');
    }
    if (key === 'data') {
      addDataFilter(where, value);
    } else if (key.startsWith('data.')) {
      const segments = key.slice('data.'.length).split('.');
      if (isPlainObject(value)) addDataFilter(where, value, segments);
      else dataEquals(where, segments, value);
    } else {
      const column = FIELD_COLUMNS[key];
      if (!column) throw new Error('Unsupported field in a unique() constraint on SQLite');
      addColumnEquals(where, column, value);
    }
  }
  return where;
}

function addColumnEquals(where: Where, column: string, value: unknown): void {
  let bound: ColumnValue;
  if (DATE_COLUMNS.has(column)) bound = toMillis(value);
  else if (FLAG_COLUMNS.has(column)) bound = value === null || value === undefined ? null : value ? 1 : 0;
  else if (typeof value === 'string' || typeof value === 'number' || value === null || value === undefined) bound = value ?? null;
  else throw new Error('Unsupported value in a unique() constraint on SQLite');
  if (bound === null) where.sql.push(`${column} IS NULL`);
  else where.sql.push(`${column} = ?`);
  if (bound !== null) where.params.push(bound);
}
