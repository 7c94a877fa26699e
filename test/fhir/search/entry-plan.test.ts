import { expect } from 'chai';
import { dateCondition, DatePrefix, MAX_DATE_SPAN_MS, parseDateRange } from '../../../src/fhir/search/date-range.js';
import { planConditions, type EntryExpr, type PlannedCondition } from '../../../src/fhir/search/entry-plan.js';
import type { Condition, EntryTest } from '../../../src/fhir/search/types.js';

type Entry = { param: string; low?: number; high?: number; code?: string };

const CMP = { lt: (a: number, b: number) => a < b, le: (a: number, b: number) => a <= b, gt: (a: number, b: number) => a > b, ge: (a: number, b: number) => a >= b };

function holds(t: EntryTest, e: Entry): boolean {
  const v = (e as Record<string, unknown>)[t.field];
  if (v === undefined) return false;
  if (t.op === 'eq') return v === t.value;
  if (t.op === 'in') return t.values.includes(v as string);
  if (t.op === 'prefix' || t.op === 'contains') throw new Error('not used here');
  return CMP[t.op](v as number, t.value);
}
const exprHolds = (x: EntryExpr, e: Entry): boolean =>
  x.kind === 'test' ? holds(x.test, e) : x.kind === 'all' ? x.parts.every((p) => exprHolds(p, e)) : x.parts.some((p) => exprHolds(p, e));

/** Reference semantics of the neutral conditions, straight from their definitions. */
function original(c: Condition, entries: Entry[]): boolean {
  switch (c.kind) {
    case 'entry': return entries.some((e) => e.param === c.param && c.tests.every((t) => holds(t, e)));
    case 'missing': return entries.some((e) => e.param === c.param) !== c.missing;
    case 'not': return !original(c.condition, entries);
    case 'and': return c.conditions.every((x) => original(x, entries));
    case 'or': return c.conditions.some((x) => original(x, entries));
  }
}
function planned(c: PlannedCondition, entries: Entry[]): boolean {
  switch (c.kind) {
    case 'match': return entries.some((e) => e.param === c.param && exprHolds(c.expr, e));
    case 'missing': return entries.some((e) => e.param === c.param) !== c.missing;
    case 'not': return !planned(c.condition, entries);
    case 'and': return c.conditions.every((x) => planned(x, entries));
    case 'or': return c.conditions.some((x) => planned(x, entries));
  }
}

const VALUES = ['1970', '1970-02', '1970-02-28', '1969-12-31', '1971', '1970-03-01T10:00', '1972-02-29', '1968', '1970-01-01T00:00:00.5Z'];
const PREFIXES = Object.keys(DatePrefix) as DatePrefix[];
const NOW = Date.parse('2026-01-01T00:00:00Z');

function random<T>(list: readonly T[], r: () => number): T {
  return list[Math.floor(r() * list.length)]!;
}
function rng(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('planConditions', () => {
  it('makes an OR of entry conditions on one parameter a single match', () => {
    const [c] = planConditions([dateCondition('birthdate', 'ge', parseDateRange('1970')!, NOW)]);
    expect(c?.kind).to.equal('match');
  });

  it('merges repeated conditions of a single-valued parameter only', () => {
    const where = [dateCondition('birthdate', 'ge', parseDateRange('1970-01-01')!, NOW), dateCondition('birthdate', 'lt', parseDateRange('1970-03-01')!, NOW)];
    expect(planConditions(where, ['birthdate'])).to.have.length(1);
    expect(planConditions(where, [])).to.have.length(2);
  });

  it('bounds low to a window for a two-sided date range', () => {
    const where = [dateCondition('birthdate', 'ge', parseDateRange('1970-01-01')!, NOW), dateCondition('birthdate', 'lt', parseDateRange('1970-03-01')!, NOW)];
    const [c] = planConditions(where, ['birthdate']);
    const tests = c?.kind === 'match' && c.expr.kind === 'all' ? c.expr.parts.filter((p) => p.kind === 'test').map((p) => (p as { test: EntryTest }).test) : [];
    expect(tests).to.deep.include({ field: 'low', op: 'ge', value: Date.parse('1970-01-02T00:00:00Z') - MAX_DATE_SPAN_MS });
    expect(tests).to.deep.include({ field: 'low', op: 'lt', value: Date.parse('1970-03-01T00:00:00Z') });
  });

  it('hoists the codes of an OR of token values', () => {
    const eq = (code: string): Condition => ({ kind: 'entry', param: 'gender', tests: [{ field: 'code', op: 'eq', value: code }] });
    const [c] = planConditions([{ kind: 'or', conditions: [eq('male'), eq('female')] }]);
    expect(c?.kind === 'match' && c.expr.kind === 'all' && c.expr.parts[0]).to.deep.equal({ kind: 'test', test: { field: 'code', op: 'in', values: ['male', 'female'] } });
  });

  it('is equivalent to the request on random date queries over single dates (property)', () => {
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      const where: Condition[] = [];
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
        const alternatives = Array.from({ length: 1 + Math.floor(r() * 2) }, () => dateCondition('birthdate', random(PREFIXES, r), parseDateRange(random(VALUES, r))!, NOW));
        const c: Condition = alternatives.length === 1 ? alternatives[0]! : { kind: 'or', conditions: alternatives };
        where.push(r() < 0.15 ? { kind: 'not', condition: c } : c);
      }
      const plan = planConditions(where, ['birthdate']);
      for (const value of [...VALUES, undefined]) {
        const range = value === undefined ? undefined : parseDateRange(value)!;
        const entries: Entry[] = range ? [{ param: 'birthdate', low: range.low, high: range.high }] : [];
        const want = where.every((c) => original(c, entries));
        expect(plan.every((c) => planned(c, entries)), `${JSON.stringify(where)} on ${value}`).to.equal(want);
      }
    }
  });
});
