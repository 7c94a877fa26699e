import { keysetOrder } from '../../fhir/search/cursor.js';
import { prefixUpperBound } from '../../fhir/search/fold.js';
import { planConditions, type EntryExpr, type PlannedCondition } from '../../fhir/search/entry-plan.js';
import type { EntryTest, SearchRequest, SortField, SortKey } from '../../fhir/search/types.js';

/** SQL + parameters, built from the few primitives of the neutral request. */
export interface SqlFragment {
  sql: string;
  params: (string | number)[];
}

/** A compiled search: the page query (LIMIT count + 1) and the count query over the same filter. */
export interface CompiledSqliteSearch {
  page: SqlFragment;
  count: SqlFragment;
  /** Keyset order as executed (the request's `_sort`, then `_id`). */
  order: SortKey[];
  /** True when walking backwards (`previous`): rows come in reverse order and must be flipped. */
  reverse: boolean;
  /**
   * When the page sorts on a column other than `id` and the filter is a set of ids, the page query
   * with its driving index chosen explicitly: `byFilter` fetches the matching rows and sorts them
   * (cheap when few match), `bySort` walks the `(state, column, id)` index and stops at the page
   * size (cheap when many match). `searchSqlite` picks one from the number of matches.
   */
  choice?: { byFilter: SqlFragment; bySort: SqlFragment; capped: SqlFragment };
}

/**
 * Up to this many matches, a sorted page is cheaper by fetching and sorting the matches than by
 * walking the sort index (which reads about `count × total ÷ matches` index entries): measured on
 * 100,000 patients with pages of 20.
 */
export const FILTER_DRIVEN_MAX_MATCHES = 2000;

/** The `(state, column, id)` index that serves `ORDER BY` of each sort field. */
const SORT_INDEXES: Record<SortField, string> = {
  _id: 'patient_state_id',
  _lastUpdated: 'patient_state_updated',
  family: 'patient_state_family',
  given: 'patient_state_given',
  birthdate: 'patient_state_birthdate',
  gender: 'patient_state_gender',
};

/** The primary-key index of `patient` (serves `patient.id IN (…)`). */
const ID_INDEX = 'sqlite_autoindex_patient_1';

/** Sort column of each `_sort` field (all covered by `(state, column, id)` indexes). */
export const SORT_COLUMNS: Record<SortField, string> = {
  _id: 'patient.id',
  _lastUpdated: 'patient.last_updated_ms',
  family: 'patient.sort_family',
  given: 'patient.sort_given',
  birthdate: 'patient.sort_birthdate',
  gender: 'patient.sort_gender',
};

/** Sort fields that always have a value. */
const NON_NULL: ReadonlySet<SortField> = new Set(['_id', '_lastUpdated']);

const COMPARE = { eq: '=', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

function testSql(t: EntryTest, params: (string | number)[]): string {
  switch (t.op) {
    case 'eq':
      params.push(t.value);
      // a system is only stored with a code: a system-only token test is served by the code index
      return t.field === 'system' ? 'code IS NOT NULL AND system = ?' : `${t.field} = ?`;
    case 'in':
      params.push(...t.values);
      return `${t.field} IN (${t.values.map(() => '?').join(', ')})`;
    case 'prefix': {
      // a range, so the (param, text) index serves it; never LIKE
      const upper = prefixUpperBound(t.value);
      params.push(t.value);
      if (upper === undefined) return 'text >= ?';
      params.push(upper);
      return 'text >= ? AND text < ?';
    }
    case 'contains':
      // the IS NOT NULL lets the column's partial index serve `param = ?` (instr() does not imply it)
      params.push(t.value);
      return `${t.field} IS NOT NULL AND instr(${t.field}, ?) > 0`;
    default:
      params.push(t.value);
      return `${t.field} ${COMPARE[t.op]} ?`;
  }
}

/** One entry's tests as SQL over a `patient_search` row. */
function exprSql(e: EntryExpr, params: (string | number)[]): string {
  if (e.kind === 'test') return testSql(e.test, params);
  const parts = e.parts.map((p) => exprSql(p, params));
  if (e.kind === 'all') return parts.join(' AND ');
  return `(${parts.map((p) => `(${p})`).join(' OR ')})`;
}

/**
 * The patients that have any value for `param`. Every `patient_search` row has a value in one of
 * these columns (a token without a code has a text), and each column has its own partial index.
 */
function presentSql(param: string): SqlFragment {
  const columns = ['text', 'code', 'low', 'ref'];
  return {
    sql: columns.map((col) => `SELECT patient_id FROM patient_search WHERE param = ? AND ${col} IS NOT NULL`).join(' UNION '),
    params: columns.map(() => param),
  };
}

/** `SELECT patient_id …` for conditions that are a set of ids from `patient_search`, else undefined. */
function idSet(c: PlannedCondition): SqlFragment | undefined {
  switch (c.kind) {
    case 'match': {
      const params: (string | number)[] = [c.param];
      const tests = exprSql(c.expr, params);
      return { sql: `SELECT patient_id FROM patient_search WHERE param = ? AND ${tests}`, params };
    }
    case 'missing':
      return c.missing ? undefined : presentSql(c.param);
    case 'or':
    case 'and': {
      const parts = c.conditions.map(idSet);
      if (parts.length === 0 || parts.some((p) => p === undefined)) return undefined;
      const op = c.kind === 'or' ? ' UNION ' : ' INTERSECT ';
      return {
        sql: parts.map((p) => (p!.sql.includes(' UNION ') || p!.sql.includes(' INTERSECT ') ? `SELECT patient_id FROM (${p!.sql})` : p!.sql)).join(op),
        params: parts.flatMap((p) => p!.params),
      };
    }
    case 'not':
      return undefined;
  }
}

/** A boolean SQL expression over the `patient` row; `id` is how it names `patient.id`. */
export function conditionSql(c: PlannedCondition, id = 'patient.id'): SqlFragment {
  const set = idSet(c);
  if (set) return { sql: `${id} IN (${set.sql})`, params: set.params };
  switch (c.kind) {
    case 'missing': {
      const present = presentSql(c.param);
      return { sql: `${id} NOT IN (${present.sql})`, params: present.params };
    }
    case 'not': {
      const inner = idSet(c.condition);
      if (inner) return { sql: `${id} NOT IN (${inner.sql})`, params: inner.params };
      const expr = conditionSql(c.condition, id);
      return { sql: `NOT (${expr.sql})`, params: expr.params };
    }
    case 'and':
    case 'or': {
      if (c.conditions.length === 0) return { sql: c.kind === 'and' ? '1' : '0', params: [] };
      const parts = c.conditions.map((x) => conditionSql(x, id));
      return { sql: `(${parts.map((p) => p.sql).join(c.kind === 'and' ? ' AND ' : ' OR ')})`, params: parts.flatMap((p) => p.params) };
    }
    default:
      throw new TypeError('unreachable condition');
  }
}

/**
 * Rows strictly after the boundary `after` in `order` (a lexicographic row comparison, written out
 * so each branch can use an index). NULL (a missing sort value) sorts lowest: first ascending,
 * last descending — SQLite's and MongoDB's native order, so the sort indexes serve `ORDER BY`.
 */
function keysetSql(order: SortKey[], after: (string | number | null)[], reverse: boolean): SqlFragment {
  const branches: SqlFragment[] = [];
  for (let i = 0; i < order.length; i++) {
    const params: (string | number)[] = [];
    const terms: string[] = [];
    for (let j = 0; j < i; j++) {
      const col = SORT_COLUMNS[order[j]!.field];
      const v = after[j] ?? null;
      if (v === null) terms.push(`${col} IS NULL`);
      else {
        terms.push(`${col} = ?`);
        params.push(v);
      }
    }
    const col = SORT_COLUMNS[order[i]!.field];
    const v = after[i] ?? null;
    const descending = order[i]!.descending !== reverse;
    if (!descending) {
      if (v === null) terms.push(`${col} IS NOT NULL`);
      else {
        terms.push(`${col} > ?`);
        params.push(v);
      }
    } else {
      if (v === null) continue; // nothing sorts below NULL
      terms.push(`(${col} < ? OR ${col} IS NULL)`);
      params.push(v);
    }
    branches.push({ sql: terms.join(' AND '), params });
  }
  if (branches.length === 0) return { sql: '0', params: [] };
  const fragment = { sql: `(${branches.map((b) => `(${b.sql})`).join(' OR ')})`, params: branches.flatMap((b) => b.params) };
  // A redundant bound on the first key lets the (state, column, id) index start at the boundary,
  // so page N costs what page 1 costs. Ascending: NULLs are before any value, so `>=` is exact.
  const first = order[0]!;
  const v0 = after[0] ?? null;
  const col0 = SORT_COLUMNS[first.field];
  const never = NON_NULL.has(first.field);
  if (v0 !== null && first.descending === reverse) {
    fragment.sql = `${col0} >= ? AND ${fragment.sql}`;
    fragment.params.unshift(v0);
  } else if (v0 !== null && never) {
    fragment.sql = `${col0} <= ? AND ${fragment.sql}`;
    fragment.params.unshift(v0);
  }
  return fragment;
}

/**
 * Compiles a neutral search request to SQLite SQL over `patient` / `patient_search`
 * (https://hl7.org/fhir/R4/search.html). Every index-entry condition becomes
 * `patient.id IN (SELECT patient_id FROM patient_search WHERE param = ? AND …)` served by a
 * `patient_search` index; OR/AND of such sets become UNION/INTERSECT; keyset paging, no OFFSET.
 */
export function compileSqliteSearch(request: SearchRequest): CompiledSqliteSearch {
  const order = keysetOrder(request.sort);
  const reverse = request.cursor?.direction === 'previous';
  const states = [...request.states];
  const stateFilter: SqlFragment =
    states.length === 1 ? { sql: 'patient.state = ?', params: [states[0]!] } : { sql: `patient.state IN (${states.map(() => '?').join(', ')})`, params: states };
  const planned = planConditions(request.where, request.singleValued);
  // `+patient.id` keeps the id sets from driving the query (so the sort index does).
  const filterOf = (id: string): SqlFragment => {
    const parts = [stateFilter, ...planned.map((c) => conditionSql(c, id))];
    return { sql: parts.map((f) => f.sql).join(' AND '), params: parts.flatMap((f) => f.params) };
  };
  const where = filterOf('patient.id');
  const cursor = request.cursor ? keysetSql(order, request.cursor.after, reverse) : undefined;
  const orderBy = order.map((k) => `${SORT_COLUMNS[k.field]} ${k.descending !== reverse ? 'DESC' : 'ASC'}`).join(', ');
  const columns = order.map((k, i) => `${SORT_COLUMNS[k.field]} AS k${i}`).join(', ');
  const pageSql = (from: string, filter: SqlFragment): SqlFragment => {
    const parts = cursor ? [filter, cursor] : [filter];
    return {
      sql: `SELECT patient.resource AS resource, patient.id AS id, patient.version_id AS version_id, ${columns} FROM ${from} WHERE ${parts.map((f) => f.sql).join(' AND ')} ORDER BY ${orderBy} LIMIT ?`,
      params: [...parts.flatMap((f) => f.params), request.count + 1],
    };
  };
  const count: SqlFragment = { sql: `SELECT count(*) AS n FROM patient WHERE ${where.sql}`, params: where.params };
  const compiled: CompiledSqliteSearch = { page: pageSql('patient', where), count, order, reverse };
  // With stale or no statistics SQLite may walk a whole sort index for a rare filter, or sort
  // half the table for a common one: offer both plans, forced, and let the number of matches
  // decide (bounded: each id set is counted up to the threshold, on its covering index).
  const first = order[0]!.field;
  const sets = planned.map(idSet).filter((x): x is SqlFragment => x !== undefined);
  if (first !== '_id' && states.length === 1 && sets.length > 0) {
    const counts = sets.map((x) => `(SELECT count(*) FROM (${x.sql} LIMIT ?))`);
    compiled.choice = {
      byFilter: pageSql(`patient INDEXED BY ${ID_INDEX}`, where),
      bySort: pageSql(`patient INDEXED BY ${SORT_INDEXES[first]}`, filterOf('+patient.id')),
      capped: {
        sql: `SELECT ${counts.length === 1 ? counts[0] : `min(${counts.join(', ')})`} AS n`,
        params: sets.flatMap((x) => [...x.params, FILTER_DRIVEN_MAX_MATCHES + 1]),
      },
    };
  }
  return compiled;
}
