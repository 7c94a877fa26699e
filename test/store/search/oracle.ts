import type { Patient } from 'fhir/r4.js';
import type { FixturePatient } from './fixture.js';

/*
 * An independent oracle for search expectations: plain TypeScript over the fixture JSON. It shares
 * no code with src/ (no extractor, no compiler, no fold function) on purpose.
 */

export const fold = (s: string): string => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();

/** [start, end) in ms of a FHIR date/dateTime/instant, from its precision. */
export function period(v: string): [number, number] {
  const y = Number(v.slice(0, 4));
  if (/^\d{4}$/.test(v)) return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1)];
  const m = Number(v.slice(5, 7)) - 1;
  if (/^\d{4}-\d{2}$/.test(v)) return [Date.UTC(y, m, 1), Date.UTC(y, m + 1, 1)];
  const d = Number(v.slice(8, 10));
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return [Date.UTC(y, m, d), Date.UTC(y, m, d + 1)];
  const withZone = /(Z|[+-]\d\d:\d\d)$/.test(v) ? v : `${v}Z`;
  const t = Date.parse(withZone);
  const width = /\.\d+/.test(v) ? 1 : /T\d\d:\d\d:\d\d/.test(v) ? 1000 : 60_000;
  return [t, t + width];
}

export const nameParts = (p: Patient): string[] =>
  (p.name ?? []).flatMap((n) => [n.family, ...(n.given ?? []), ...(n.prefix ?? []), ...(n.suffix ?? []), n.text]).filter((s): s is string => !!s);
export const families = (p: Patient): string[] => (p.name ?? []).map((n) => n.family).filter((s): s is string => !!s);
export const givens = (p: Patient): string[] => (p.name ?? []).flatMap((n) => n.given ?? []);
export const addressParts = (p: Patient): string[] =>
  (p.address ?? [])
    .flatMap((a) => [...(a.line ?? []), a.city, a.district, a.state, a.postalCode, a.country, a.text])
    .filter((s): s is string => !!s);
export const cities = (p: Patient): string[] => (p.address ?? []).map((a) => a.city).filter((s): s is string => !!s);
export const telecoms = (p: Patient, system?: string): string[] =>
  (p.telecom ?? []).filter((t) => !system || t.system === system).map((t) => t.value ?? '');
export const refs = (values: ({ reference?: string } | undefined)[]): string[] =>
  values.flatMap((r) => (r?.reference ? [r.reference.split('/').slice(-2).join('/')] : []));
export const startsWith = (values: string[], q: string): boolean => values.some((v) => fold(v).startsWith(fold(q)));
export const contains = (values: string[], q: string): boolean => values.some((v) => fold(v).includes(fold(q)));

/** Sort values the way the server documents them: folded first official (else first) name, etc. */
export function sortValue(p: FixturePatient, field: string): string | number | null {
  const r = p.resource;
  const name = (r.name ?? []).find((n) => n.use === 'official') ?? r.name?.[0];
  switch (field) {
    case '_id':
      return r.id;
    case '_lastUpdated':
      return Date.parse(r.meta.lastUpdated);
    case 'family':
      return name?.family ? fold(name.family) : null;
    case 'given':
      return name?.given?.[0] ? fold(name.given[0]) : null;
    case 'birthdate':
      return r.birthDate ? period(r.birthDate)[0] : null;
    case 'gender':
      return r.gender ?? null;
    default:
      throw new Error(`no sort field ${field}`);
  }
}

/** Comparator for `_sort=a,-b`: missing values lowest (first ascending), then id in the direction of the last key. */
export function comparator(sort: string | undefined): (a: FixturePatient, b: FixturePatient) => number {
  const keys = (sort ? sort.split(',') : []).map((k) => ({ field: k.replace(/^-/, ''), desc: k.startsWith('-') }));
  if (!keys.some((k) => k.field === '_id')) keys.push({ field: '_id', desc: keys[keys.length - 1]?.desc ?? false });
  return (a, b) => {
    for (const k of keys) {
      const x = sortValue(a, k.field);
      const y = sortValue(b, k.field);
      let c = 0;
      if (x === null && y !== null) c = -1;
      else if (x !== null && y === null) c = 1;
      else if (x !== null && y !== null) c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  };
}
