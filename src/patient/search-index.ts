import type { Patient } from 'fhir/r4.js';
import { parseDateRange } from '../fhir/search/date-range.js';
import { foldText } from '../fhir/search/fold.js';
import type { SearchParameterDefinition } from '../fhir/search/search-parameter.js';
import type { IndexEntry, SortKeys } from '../store/port.js';
import { patientSearchParameters } from './search-parameters.js';
import { defaultPhoneCountry } from './validation/normalize-contacts.js';

interface Segment {
  name: string;
  filter?: { field: string; value: string };
}

const REF_RE = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})$/;
const parsedPaths = new Map<string, Segment[]>();

function segments(path: string): Segment[] {
  let parsed = parsedPaths.get(path);
  if (!parsed) {
    parsed = path.split('.').map((part) => {
      const m = /^(\w+)\[(\w+)=([^\]]+)\]$/.exec(part);
      return m ? { name: m[1]!, filter: { field: m[2]!, value: m[3]! } } : { name: part };
    });
    parsedPaths.set(path, parsed);
  }
  return parsed;
}

/** Values at a dotted path (arrays walked implicitly, `[field=value]` filters elements). */
export function valuesAt(root: unknown, path: string): unknown[] {
  let nodes: unknown[] = [root];
  for (const seg of segments(path)) {
    const next: unknown[] = [];
    for (const node of nodes) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, seg.name)) continue;
      const value = (node as Record<string, unknown>)[seg.name];
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v === undefined || v === null) continue;
        if (seg.filter && (typeof v !== 'object' || (v as Record<string, unknown>)[seg.filter.field] !== seg.filter.value)) continue;
        next.push(v);
      }
    }
    nodes = next;
  }
  return nodes;
}

/** `Type/id` of a reference, with an absolute base and `_history` stripped; undefined otherwise. */
export function referenceKey(reference: string): string | undefined {
  const local = reference.replace(/\/_history\/[^/]*$/, '').split('/').slice(-2).join('/');
  return REF_RE.test(local) ? local : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function tokenEntries(def: SearchParameterDefinition, value: unknown, country: string | undefined): IndexEntry[] {
  const norm = (code: string, system: string | undefined) => (def.normalizeCode ? def.normalizeCode(code, system, country) : code);
  const base = { param: def.code };
  if (def.presence) return [{ ...base, system: '', code: value === false ? 'false' : 'true' }];
  if (typeof value === 'string' || typeof value === 'boolean') {
    const code = String(value);
    return [{ ...base, system: def.system ?? '', code: norm(code, def.system), text: foldText(code) }];
  }
  if (typeof value !== 'object' || value === null) return [];
  const o = value as Record<string, unknown>;
  if (Array.isArray(o.coding) || str(o.text)) {
    const cc = o as { coding?: { system?: string; code?: string; display?: string }[]; text?: string };
    const entries: IndexEntry[] = (cc.coding ?? [])
      .filter((c) => str(c.code))
      .map((c) => ({ ...base, system: c.system ?? '', code: c.code!, ...textOf(cc.text ?? c.display) }));
    if (entries.length === 0 && str(cc.text)) entries.push({ ...base, ...textOf(cc.text) });
    return entries;
  }
  const code = str(o.value) ?? str(o.code);
  if (!code) return [];
  const system = str(o.system);
  const type = o.type as { text?: string; coding?: { display?: string }[] } | undefined;
  return [{ ...base, system: system ?? '', code: norm(code, system), ...textOf(type?.text ?? type?.coding?.[0]?.display ?? str(o.display)) }];
}

function textOf(text: string | undefined): { text?: string } {
  const folded = text ? foldText(text) : '';
  return folded ? { text: folded } : {};
}

function entriesOf(def: SearchParameterDefinition, value: unknown, country: string | undefined): IndexEntry[] {
  switch (def.type) {
    case 'string': {
      if (typeof value !== 'string') return [];
      const text = foldText(value);
      return text ? [{ param: def.code, text, exact: value }] : [];
    }
    case 'token':
      return tokenEntries(def, value, country);
    case 'date': {
      const range = typeof value === 'string' ? parseDateRange(value) : undefined;
      return range ? [{ param: def.code, low: range.low, high: range.high }] : [];
    }
    case 'reference': {
      const ref = typeof value === 'object' && value !== null ? str((value as { reference?: unknown }).reference) : undefined;
      const key = ref ? referenceKey(ref) : undefined;
      return key ? [{ param: def.code, ref: key }] : [];
    }
  }
}

/**
 * The search values of one Patient version, one entry per value per parameter (each name part and
 * address part separately), driven by {@link patientSearchParameters}. Duplicates are dropped.
 * Engines store these as `patient_search` rows (SQLite) or `ix` array elements (MongoDB).
 * https://hl7.org/fhir/R4/patient.html#search
 */
export function extractIndexEntries(
  patient: Patient,
  parameters: readonly SearchParameterDefinition[] = patientSearchParameters,
): IndexEntry[] {
  const country = defaultPhoneCountry(patient);
  const out: IndexEntry[] = [];
  for (const def of parameters) {
    const seen = new Set<string>();
    for (const path of def.paths) {
      for (const value of valuesAt(patient, path)) {
        for (const e of entriesOf(def, value, country)) {
          const key = JSON.stringify(e);
          if (!seen.has(key)) {
            seen.add(key);
            out.push(e);
          }
        }
      }
    }
    if (seen.size === 0 && def.whenAbsent !== undefined) out.push({ param: def.code, system: '', code: def.whenAbsent });
  }
  return out;
}

/**
 * What `_sort` orders by besides `_id`/`_lastUpdated`: the folded family and first given name of the
 * first `official` name (else the first name), the start of birthDate, and gender. Missing values
 * are left out (engines store NULL, which sorts first ascending).
 */
export function extractSortKeys(patient: Patient): SortKeys {
  const names = patient.name ?? [];
  const name = names.find((n) => n.use === 'official') ?? names[0];
  const keys: SortKeys = {};
  const family = name?.family ? foldText(name.family) : '';
  if (family) keys.family = family;
  const given = name?.given?.[0] ? foldText(name.given[0]) : '';
  if (given) keys.given = given;
  const birth = patient.birthDate ? parseDateRange(patient.birthDate) : undefined;
  if (birth) keys.birthdate = birth.low;
  if (patient.gender) keys.gender = patient.gender;
  return keys;
}
