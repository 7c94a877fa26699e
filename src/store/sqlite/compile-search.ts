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
}

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
      return `${t.field} = ?`;
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
      params.push(t.value);
      return `instr(${t.field}, ?) > 0`;
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

/** `SELECT patient_id …` for conditions that are a set of ids from `patient_search`, else undefined. */
function idSet(c: PlannedCondition): SqlFragment | undefined {
  switch (c.kind) {
    case 'match': {
      const params: (string | number)[] = [c.param];
      const tests = exprSql(c.expr, params);
      return { sql: `SELECT patient_id FROM patient_search WHERE param = ? AND ${tests}`, params };
    }
    case 'missing':
      return c.missing ? undefined : { sql: 'SELECT patient_id FROM patient_search WHERE param = ?', params: [c.param] };
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

/** A boolean SQL expression over the `patient` row. */
export function conditionSql(c: PlannedCondition): SqlFragment {
  const set = idSet(c);
  if (set) return { sql: `patient.id IN (${set.sql})`, params: set.params };
  switch (c.kind) {
    case 'missing':
      return { sql: 'patient.id NOT IN (SELECT patient_id FROM patient_search WHERE param = ?)', params: [c.param] };
    case 'not': {
      const inner = idSet(c.condition);
      if (inner) return { sql: `patient.id NOT IN (${inner.sql})`, params: inner.params };
      const expr = conditionSql(c.condition);
      return { sql: `NOT (${expr.sql})`, params: expr.params };
    }
    case 'and':
    case 'or': {
      if (c.conditions.length === 0) return { sql: c.kind === 'and' ? '1' : '0', params: [] };
      const parts = c.conditions.map(conditionSql);
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
  const filters: SqlFragment[] = [];
  const states = [...request.states];
  filters.push(
    states.length === 1 ? { sql: 'patient.state = ?', params: [states[0]!] } : { sql: `patient.state IN (${states.map(() => '?').join(', ')})`, params: states },
  );
  for (const c of planConditions(request.where, request.singleValued)) filters.push(conditionSql(c));
  const where = { sql: filters.map((f) => f.sql).join(' AND '), params: filters.flatMap((f) => f.params) };

  const pageFilters = [where];
  if (request.cursor) pageFilters.push(keysetSql(order, request.cursor.after, reverse));
  const orderBy = order.map((k) => `${SORT_COLUMNS[k.field]} ${k.descending !== reverse ? 'DESC' : 'ASC'}`).join(', ');
  const columns = order.map((k, i) => `${SORT_COLUMNS[k.field]} AS k${i}`).join(', ');
  const page: SqlFragment = {
    sql: `SELECT patient.resource AS resource, ${columns} FROM patient WHERE ${pageFilters.map((f) => f.sql).join(' AND ')} ORDER BY ${orderBy} LIMIT ?`,
    params: [...pageFilters.flatMap((f) => f.params), request.count + 1],
  };
  const count: SqlFragment = { sql: `SELECT count(*) AS n FROM patient WHERE ${where.sql}`, params: where.params };
  return { page, count, order, reverse };
}
