import type { Condition, EntryTest } from './types.js';

/** A period `[low, high)` in epoch milliseconds. */
export interface DateRange {
  low: number;
  high: number;
}

/** The date prefixes of https://hl7.org/fhir/R4/search.html#prefix. */
export const DatePrefix = {
  eq: 'eq',
  ne: 'ne',
  lt: 'lt',
  gt: 'gt',
  le: 'le',
  ge: 'ge',
  sa: 'sa',
  eb: 'eb',
  ap: 'ap',
} as const;
export type DatePrefix = (typeof DatePrefix)[keyof typeof DatePrefix];

const DAY_MS = 86_400_000;

/**
 * The widest period {@link parseDateRange} returns: a year (366 days when leap), the coarsest FHIR
 * precision. So every stored date entry has `high − low ≤ MAX_DATE_SPAN_MS`, which lets a search
 * bound `low` from a test on `high` (see `fhir/search/entry-plan.ts`).
 */
export const MAX_DATE_SPAN_MS = 366 * DAY_MS;
const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function utc(year: number, month: number, day: number, h = 0, m = 0, s = 0, ms = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(h, m, s, ms);
  return d.getTime();
}

/**
 * Parses a FHIR `date`, `dateTime` or `instant` (or a search value) into the period its precision
 * covers (https://hl7.org/fhir/R4/search.html#date): `2020` → the whole year, `2020-03` → March,
 * `2020-03-04` → that day, with minutes → one minute, with seconds → one second, with a fraction →
 * that fraction (at least 1 ms). Values without a time zone are taken as UTC (a documented choice).
 * Returns `undefined` for anything that is not such a value (including impossible dates).
 */
export function parseDateRange(value: string): DateRange | undefined {
  const m = DATE_RE.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] === undefined ? undefined : Number(m[2]) - 1;
  const day = m[3] === undefined ? undefined : Number(m[3]);
  if (month !== undefined && (month < 0 || month > 11)) return undefined;
  if (month === undefined) return { low: utc(year, 0, 1), high: utc(year + 1, 0, 1) };
  if (day === undefined) return { low: utc(year, month, 1), high: utc(year, month + 1, 1) };
  if (day < 1 || new Date(utc(year, month, day)).getUTCDate() !== day) return undefined;
  if (m[4] === undefined) return { low: utc(year, month, day), high: utc(year, month, day + 1) };
  const [hh, mi] = [Number(m[4]), Number(m[5])];
  const ss = m[6] === undefined ? undefined : Number(m[6]);
  if (hh > 23 || mi > 59 || (ss !== undefined && ss > 59)) return undefined;
  const fraction = m[7];
  const msPart = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  let offsetMs = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    if (oh > 14 || om > 59) return undefined;
    offsetMs = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const low = utc(year, month, day, hh, mi, ss ?? 0, msPart) - offsetMs;
  const width =
    ss === undefined ? 60_000 : fraction === undefined ? 1000 : Math.max(1, 10 ** (3 - Math.min(fraction.length, 3)));
  return { low, high: low + width };
}

/** Splits an optional two-letter prefix off a date search value (default `eq`). */
export function splitDatePrefix(value: string): { prefix: DatePrefix; rest: string } {
  const head = value.slice(0, 2);
  if (/^[a-z]{2}$/.test(head) && head in DatePrefix) return { prefix: head as DatePrefix, rest: value.slice(2) };
  return { prefix: 'eq', rest: value };
}

/**
 * Half-width of the `ap` window: 10 % of the distance between the search value and now, at least
 * one day (the R4 spec leaves the amount to the server; this is our documented choice).
 */
export function approximateMargin(range: DateRange, now: number): number {
  return Math.max(DAY_MS, Math.round(Math.abs(now - range.low) * 0.1));
}

function entry(param: string, tests: EntryTest[]): Condition {
  return { kind: 'entry', param, tests };
}

/**
 * The condition for `param=<prefix><value>` against stored periods `[low, high)`, following the R4
 * prefix table (https://hl7.org/fhir/R4/search.html#prefix), search period `[sl, sh)`:
 * eq: sl ≤ low ∧ high ≤ sh (search fully contains target); ne: its negation;
 * gt: high > sh; lt: low < sl; ge: high > sh ∨ low ≥ sl; le: low < sl ∨ high ≤ sh;
 * sa: low ≥ sh; eb: high ≤ sl; ap: the target overlaps the search period widened by
 * {@link approximateMargin} on both sides.
 */
export function dateCondition(param: string, prefix: DatePrefix, range: DateRange, now: number): Condition {
  const { low: sl, high: sh } = range;
  switch (prefix) {
    case 'eq':
      return entry(param, [
        { field: 'low', op: 'ge', value: sl },
        { field: 'high', op: 'le', value: sh },
      ]);
    case 'ne':
      return {
        kind: 'or',
        conditions: [entry(param, [{ field: 'low', op: 'lt', value: sl }]), entry(param, [{ field: 'high', op: 'gt', value: sh }])],
      };
    case 'gt':
      return entry(param, [{ field: 'high', op: 'gt', value: sh }]);
    case 'lt':
      return entry(param, [{ field: 'low', op: 'lt', value: sl }]);
    case 'ge':
      return {
        kind: 'or',
        conditions: [entry(param, [{ field: 'high', op: 'gt', value: sh }]), entry(param, [{ field: 'low', op: 'ge', value: sl }])],
      };
    case 'le':
      return {
        kind: 'or',
        conditions: [entry(param, [{ field: 'low', op: 'lt', value: sl }]), entry(param, [{ field: 'high', op: 'le', value: sh }])],
      };
    case 'sa':
      return entry(param, [{ field: 'low', op: 'ge', value: sh }]);
    case 'eb':
      return entry(param, [{ field: 'high', op: 'le', value: sl }]);
    case 'ap': {
      const margin = approximateMargin(range, now);
      return entry(param, [
        { field: 'low', op: 'lt', value: sh + margin },
        { field: 'high', op: 'gt', value: sl - margin },
      ]);
    }
  }
}
