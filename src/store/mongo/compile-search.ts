import { keysetOrder } from '../../fhir/search/cursor.js';
import { prefixUpperBound } from '../../fhir/search/fold.js';
import { planConditions, type EntryExpr, type PlannedCondition } from '../../fhir/search/entry-plan.js';
import type { EntryTest, SearchRequest, SortField, SortKey } from '../../fhir/search/types.js';

/** A MongoDB query filter (plain object; evaluated by the driver, or by mingo in tests). */
export type MongoFilter = Record<string, unknown>;

/** A compiled search over the `patients` collection. */
export interface CompiledMongoSearch {
  /** The filter without the keyset position (for `countDocuments`). */
  filter: MongoFilter;
  /** The filter of the page (filter AND keyset position). */
  pageFilter: MongoFilter;
  sort: Record<string, 1 | -1>;
  /** count + 1: the extra document tells whether another page exists. */
  limit: number;
  order: SortKey[];
  reverse: boolean;
}

/** Document field of each `_sort` field (each with a `{state, field, _id}` index). */
export const SORT_FIELDS: Record<SortField, string> = {
  _id: '_id',
  _lastUpdated: 'lastUpdatedMs',
  family: 'sort.family',
  given: 'sort.given',
  birthdate: 'sort.birthdate',
  gender: 'sort.gender',
};

const OPS = { eq: '$eq', lt: '$lt', le: '$lte', gt: '$gt', ge: '$gte' } as const;

function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function testOps(t: EntryTest): Record<string, unknown> {
  switch (t.op) {
    case 'eq':
      return { $eq: t.value };
    case 'in':
      return { $in: t.values };
    case 'prefix': {
      const upper = prefixUpperBound(t.value);
      return upper === undefined ? { $gte: t.value } : { $gte: t.value, $lt: upper };
    }
    case 'contains':
      return { $regex: escapeRegex(t.value) };
    default:
      return { [OPS[t.op]]: t.value };
  }
}

/** One entry's tests as a filter on an `ix` element; tests on one field are merged, clashes go to `$and`. */
function exprFilter(e: EntryExpr): MongoFilter {
  if (e.kind === 'test') return { [e.test.field]: testOps(e.test) };
  if (e.kind === 'any') return { $or: e.parts.map(exprFilter) };
  const match: MongoFilter = {};
  const extra: MongoFilter[] = [];
  for (const part of e.parts) {
    if (part.kind !== 'test') {
      const sub = exprFilter(part);
      if (part.kind === 'any' && match.$or === undefined) match.$or = sub.$or;
      else extra.push(sub);
      continue;
    }
    const ops = testOps(part.test);
    const field = part.test.field;
    const current = match[field] as Record<string, unknown> | undefined;
    if (current === undefined) match[field] = ops;
    else if (Object.keys(ops).some((k) => k in current)) extra.push({ [field]: ops });
    else Object.assign(current, ops);
  }
  if (extra.length > 0) match.$and = extra;
  return match;
}

/**
 * A planned condition as a MongoDB filter on `patients` documents. A `match` is one `$elemMatch`
 * on `ix` (so all its tests hold on the SAME element, e.g. system and code); `:missing` uses
 * `ix.param` alone.
 */
export function conditionFilter(c: PlannedCondition): MongoFilter {
  switch (c.kind) {
    case 'match':
      return { ix: { $elemMatch: { param: c.param, ...exprFilter(c.expr) } } };
    case 'missing':
      return c.missing ? { 'ix.param': { $ne: c.param } } : { 'ix.param': c.param };
    case 'not':
      return { $nor: [conditionFilter(c.condition)] };
    case 'and':
      return c.conditions.length === 0 ? {} : { $and: c.conditions.map(conditionFilter) };
    case 'or':
      return c.conditions.length === 0 ? { _id: { $in: [] } } : { $or: c.conditions.map(conditionFilter) };
  }
}

/**
 * Documents strictly after `after` in `order`: a lexicographic comparison written as `$or` of
 * branches. A missing value (null) sorts lowest, as MongoDB sorts it natively.
 */
function keysetFilter(order: SortKey[], after: (string | number | null)[], reverse: boolean): MongoFilter {
  const branches: MongoFilter[] = [];
  for (let i = 0; i < order.length; i++) {
    const terms: MongoFilter[] = [];
    for (let j = 0; j < i; j++) terms.push({ [SORT_FIELDS[order[j]!.field]]: after[j] ?? null });
    const field = SORT_FIELDS[order[i]!.field];
    const v = after[i] ?? null;
    if (order[i]!.descending === reverse) {
      terms.push(v === null ? { [field]: { $ne: null } } : { [field]: { $gt: v } });
    } else {
      if (v === null) continue; // nothing sorts below null
      terms.push({ $or: [{ [field]: { $lt: v } }, { [field]: null }] });
    }
    branches.push(terms.length === 1 ? terms[0]! : { $and: terms });
  }
  return branches.length === 0 ? { _id: { $in: [] } } : { $or: branches };
}

/**
 * Compiles a neutral search request to a MongoDB filter and sort over `patients`
 * (https://hl7.org/fhir/R4/search.html). Keyset paging (no skip): the page filter adds the
 * cursor position; `previous` walks backwards with the sort flipped.
 */
export function compileMongoSearch(request: SearchRequest): CompiledMongoSearch {
  const order = keysetOrder(request.sort);
  const reverse = request.cursor?.direction === 'previous';
  const states = [...request.states];
  const clauses: MongoFilter[] = [states.length === 1 ? { state: states[0] } : { state: { $in: states } }];
  for (const c of planConditions(request.where, request.singleValued)) clauses.push(conditionFilter(c));
  const filter: MongoFilter = clauses.length === 1 ? clauses[0]! : { $and: clauses };
  const pageFilter = request.cursor ? { $and: [...clauses, keysetFilter(order, request.cursor.after, reverse)] } : filter;
  const sort: Record<string, 1 | -1> = {};
  for (const k of order) sort[SORT_FIELDS[k.field]] = k.descending !== reverse ? -1 : 1;
  return { filter, pageFilter, sort, limit: request.count + 1, order, reverse };
}

/** Reads a dotted field of a document (for the keyset values of a fetched row). */
export function fieldValue(doc: unknown, path: string): string | number | null {
  let node: unknown = doc;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return null;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'string' || typeof node === 'number' ? node : null;
}
