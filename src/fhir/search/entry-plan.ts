import { MAX_DATE_SPAN_MS } from './date-range.js';
import type { Condition, EntryTest } from './types.js';

/** A boolean expression over the fields of ONE index entry. */
export type EntryExpr = { kind: 'test'; test: EntryTest } | { kind: 'all' | 'any'; parts: EntryExpr[] };

/**
 * A search condition as the engines execute it: like {@link Condition}, but each `match` is one
 * probe of the index ("some entry of `param` satisfies `expr`"), so an engine runs one index range
 * scan per `match` instead of combining sets.
 */
export type PlannedCondition =
  | { kind: 'match'; param: string; expr: EntryExpr }
  | { kind: 'missing'; param: string; missing: boolean }
  | { kind: 'not'; condition: PlannedCondition }
  | { kind: 'and' | 'or'; conditions: PlannedCondition[] };

const test = (t: EntryTest): EntryExpr => ({ kind: 'test', test: t });

/** `all`/`any` with nested parts of the same kind flattened and a single part unwrapped. */
function combine(kind: 'all' | 'any', parts: EntryExpr[]): EntryExpr {
  const flat = parts.flatMap((p) => (p.kind === kind ? p.parts : [p]));
  return flat.length === 1 ? flat[0]! : { kind, parts: flat };
}

/** Closed bounds `[lo, hi]` on an entry's `low` (looser is always safe: they are redundant). */
interface LowBounds {
  lo: number;
  hi: number;
}

const UNBOUNDED: LowBounds = { lo: -Infinity, hi: Infinity };

/**
 * What a test implies about `low`. Every stored date entry is a period `[low, high)` of at most
 * {@link MAX_DATE_SPAN_MS} (a year, the coarsest FHIR precision), so a test on `high` bounds `low`
 * too: `high > v` ⇒ `low > v − span`; `high ≤ v` ⇒ `low < v`.
 */
function testBounds(t: EntryTest, direct: boolean): LowBounds {
  if (t.field === 'low') {
    if (t.op === 'gt' || t.op === 'ge') return { lo: t.value, hi: Infinity };
    if (t.op === 'lt' || t.op === 'le') return { lo: -Infinity, hi: t.value };
  }
  if (t.field === 'high' && !direct) {
    if (t.op === 'gt' || t.op === 'ge') return { lo: t.value - MAX_DATE_SPAN_MS, hi: Infinity };
    if (t.op === 'lt' || t.op === 'le') return { lo: -Infinity, hi: t.value };
  }
  return UNBOUNDED;
}

/** Bounds on `low` implied by `expr`; with `direct`, only those its top-level `low` tests state. */
function lowBounds(expr: EntryExpr, direct = false): LowBounds {
  if (expr.kind === 'test') return testBounds(expr.test, direct);
  if (expr.kind === 'all') {
    return expr.parts.reduce((acc, p) => {
      const b = lowBounds(p, direct);
      return { lo: Math.max(acc.lo, b.lo), hi: Math.min(acc.hi, b.hi) };
    }, UNBOUNDED);
  }
  if (direct || expr.parts.length === 0) return UNBOUNDED;
  return expr.parts.map((p) => lowBounds(p)).reduce((acc, b) => ({ lo: Math.min(acc.lo, b.lo), hi: Math.max(acc.hi, b.hi) }));
}

/** Values an entry's `field` must take for `expr` to hold (from `eq`/`in` tests), if such a set exists. */
function valueSet(expr: EntryExpr, field: 'code' | 'ref'): string[] | undefined {
  if (expr.kind === 'test') {
    const t = expr.test;
    if (t.field !== field) return undefined;
    return t.op === 'eq' ? [t.value] : t.op === 'in' ? t.values : undefined;
  }
  const sets = expr.parts.map((p) => valueSet(p, field));
  if (expr.kind === 'all') return sets.find((s) => s !== undefined);
  if (sets.length === 0 || sets.some((s) => s === undefined)) return undefined;
  return [...new Set(sets.flatMap((s) => s!))];
}

/**
 * Adds redundant index bounds to `expr` so the engine can range-scan one index: the `low` window
 * implied by the tests (e.g. `ge A` and `lt B` on a birth date → `A − 1 year ≤ low ≤ B`), and for an
 * OR of token or reference values the list of codes or references (`IN`).
 */
function withBounds(expr: EntryExpr): EntryExpr {
  const extra: EntryExpr[] = [];
  const implied = lowBounds(expr);
  const stated = lowBounds(expr, true);
  if (implied.lo > stated.lo) extra.push(test({ field: 'low', op: 'ge', value: implied.lo }));
  if (implied.hi < stated.hi) extra.push(test({ field: 'low', op: 'le', value: implied.hi }));
  if (expr.kind === 'any') {
    for (const field of ['code', 'ref'] as const) {
      const values = valueSet(expr, field);
      if (values) extra.push(test(values.length === 1 ? { field, op: 'eq', value: values[0]! } : { field, op: 'in', values }));
    }
  }
  return extra.length === 0 ? expr : combine('all', [...extra, expr]);
}

function planOne(c: Condition, singleValued: ReadonlySet<string>): PlannedCondition {
  switch (c.kind) {
    case 'entry':
      return { kind: 'match', param: c.param, expr: combine('all', c.tests.map(test)) };
    case 'missing':
      return c;
    case 'not':
      return { kind: 'not', condition: planOne(c.condition, singleValued) };
    case 'and': {
      const parts = mergeAnd(c.conditions.map((x) => planOne(x, singleValued)), singleValued);
      return parts.length === 1 ? parts[0]! : { kind: 'and', conditions: parts };
    }
    case 'or': {
      const parts = c.conditions.map((x) => planOne(x, singleValued)).flatMap((p) => (p.kind === 'or' ? p.conditions : [p]));
      const first = parts[0];
      // ∃e: A(e) ∨ ∃e: B(e) ≡ ∃e: A(e) ∨ B(e), always
      if (first?.kind === 'match' && parts.every((p) => p.kind === 'match' && p.param === first.param)) {
        return { kind: 'match', param: first.param, expr: combine('any', parts.map((p) => (p as typeof first).expr)) };
      }
      return parts.length === 1 ? parts[0]! : { kind: 'or', conditions: parts };
    }
  }
}

/**
 * AND of conditions: `match`es of one single-valued parameter merge into one (∃e: A(e) ∧ ∃e: B(e)
 * ≡ ∃e: A(e) ∧ B(e) when a resource has at most one entry of that parameter); nested ANDs flatten.
 */
function mergeAnd(parts: PlannedCondition[], singleValued: ReadonlySet<string>): PlannedCondition[] {
  const out: PlannedCondition[] = [];
  for (const p of parts.flatMap((x) => (x.kind === 'and' ? x.conditions : [x]))) {
    const same = p.kind === 'match' && singleValued.has(p.param) ? out.find((o) => o.kind === 'match' && o.param === p.param) : undefined;
    if (same?.kind === 'match' && p.kind === 'match') same.expr = combine('all', [same.expr, p.expr]);
    else out.push(p.kind === 'match' ? { ...p } : p);
  }
  return out;
}

function finish(c: PlannedCondition): PlannedCondition {
  switch (c.kind) {
    case 'match':
      return { ...c, expr: withBounds(c.expr) };
    case 'missing':
      return c;
    case 'not':
      return { kind: 'not', condition: finish(c.condition) };
    default:
      return { kind: c.kind, conditions: c.conditions.map(finish) };
  }
}

/**
 * Rewrites the request's conditions (all of which must hold) into as few index probes as the
 * semantics allow, with redundant bounds that let each probe range-scan one index. The result is
 * equivalent to `where` for every resource whose `singleValued` parameters have at most one entry.
 * https://hl7.org/fhir/R4/search.html#combining
 */
export function planConditions(where: readonly Condition[], singleValued: readonly string[] = []): PlannedCondition[] {
  const single = new Set(singleValued);
  return mergeAnd(where.map((c) => planOne(c, single)), single).map(finish);
}
