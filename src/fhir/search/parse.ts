import { ErrorCode, errors } from '../outcome.js';
import { CURSOR_PARAM, decodeCursor, keysetOrder, searchFingerprint } from './cursor.js';
import { invalidValue, splitAlternatives, valueCondition } from './parse-value.js';
import type { SearchParameterDefinition } from './search-parameter.js';
import type { Condition, ParsedSearch, SearchRequest, SearchSummary, SortField, SortKey } from './types.js';

/** Default and maximum page size (SPEC §6). */
export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

const SORT_FIELDS: readonly SortField[] = ['_id', '_lastUpdated', 'family', 'given', 'birthdate', 'gender'];
const SUMMARIES: readonly SearchSummary[] = ['true', 'count', 'data', 'text', 'false'];
/** A read has no `count` summary: it returns one resource, not matches to count. */
const READ_SUMMARIES: readonly SearchSummary[] = SUMMARIES.filter((s) => s !== 'count');
const TOTALS = ['none', 'estimate', 'accurate'] as const;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
/** Result parameters that are accepted and have no effect on the query. */
const IGNORED = new Set(['_format', '_pretty']);
const CONTROL = new Set(['_count', '_sort', '_total', '_summary', '_elements', CURSOR_PARAM]);
const MAX_KEY_LENGTH = 100;
const MAX_VALUE_LENGTH = 1024;
const MAX_CONDITIONS = 200;

export interface ParseOptions {
  /** The resource's parameter table (e.g. `patientSearchParameters`). */
  parameters: readonly SearchParameterDefinition[];
  /** `Prefer: handling=strict`: unknown parameters answer 400 instead of being reported. */
  strict: boolean;
  /** Server key that signs paging cursors. */
  cursorKey: Buffer | string;
  /** "Now" for the `ap` date prefix; defaults to the system clock. */
  now?: Date;
}

function bad(code: ErrorCode, diagnostics: string, param?: string): never {
  throw errors.badRequest(code, diagnostics, param ? [param] : undefined);
}

function single(name: string, values: readonly string[]): string {
  if (values.length !== 1) bad(ErrorCode.INVALID_PARAMETER, `Search parameter '${name}' may appear only once`, name);
  return values[0]!;
}

function parseCount(value: string): number {
  if (!/^\d{1,7}$/.test(value) || Number(value) > MAX_COUNT) {
    bad(ErrorCode.INVALID_PARAMETER, `Search parameter '_count' must be an integer from 0 to ${MAX_COUNT}`, '_count');
  }
  return Number(value);
}

function parseSort(value: string): SortKey[] {
  const keys: SortKey[] = [];
  for (const part of value.split(',')) {
    const descending = part.startsWith('-');
    const field = (descending ? part.slice(1) : part) as SortField;
    if (!SORT_FIELDS.includes(field)) {
      bad(ErrorCode.INVALID_PARAMETER, `Search parameter '_sort' accepts only ${SORT_FIELDS.join(', ')}`, '_sort');
    }
    if (!keys.some((k) => k.field === field)) keys.push({ field, descending });
  }
  return keys;
}

function parseSummary(value: string, allowed: readonly SearchSummary[]): SearchSummary {
  if (!(allowed as readonly string[]).includes(value)) {
    bad(ErrorCode.INVALID_PARAMETER, `Parameter '_summary' must be ${allowed.join(', ')}`, '_summary');
  }
  return value as SearchSummary;
}

/**
 * `_summary` and `_elements` of a read or vread: the same subsets as for a search
 * (https://hl7.org/fhir/R4/search.html#summary), without `count`, which only a search has.
 */
export function parseReadSubset(query: Record<string, string[]>): { summary?: SearchSummary; elements?: string[] } {
  const summary = query._summary ? parseSummary(single('_summary', query._summary), READ_SUMMARIES) : undefined;
  const elements = query._elements ? parseElements(single('_elements', query._elements)) : undefined;
  return { ...(summary ? { summary } : {}), ...(elements ? { elements } : {}) };
}

function parseElements(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (!names.every((n) => /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(n))) {
    bad(ErrorCode.INVALID_PARAMETER, "Parameter '_elements' must list element names", '_elements');
  }
  return [...new Set(names)];
}

function checkKey(key: string): void {
  if (key.split(/[:.]/).some((part) => FORBIDDEN.has(part))) {
    bad(ErrorCode.FORBIDDEN_KEY, 'A search parameter name is not allowed');
  }
  if (key.length > MAX_KEY_LENGTH) bad(ErrorCode.INVALID_PARAMETER, 'A search parameter name is too long');
}

function parameterCondition(def: SearchParameterDefinition, modifier: string | undefined, value: string, now: number): Condition {
  const alternatives = splitAlternatives(value);
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') invalidValue(def.code, "with ':missing' must be true or false");
    return { kind: 'missing', param: def.code, missing: value === 'true' };
  }
  const conditions = alternatives.map((alt) => valueCondition(def, modifier, alt, now));
  const either: Condition = conditions.length === 1 ? conditions[0]! : { kind: 'or', conditions };
  return modifier === 'not' ? { kind: 'not', condition: either } : either;
}

function paramsOf(c: Condition): string[] {
  if (c.kind === 'entry' || c.kind === 'missing') return [c.param];
  if (c.kind === 'not') return paramsOf(c.condition);
  return c.conditions.flatMap(paramsOf);
}

function acceptsModifier(def: SearchParameterDefinition, modifier: string): boolean {
  if (modifier === 'missing') return true;
  if (def.type === 'reference') return (def.targets ?? []).includes(modifier);
  return (def.modifiers as readonly string[]).includes(modifier);
}

/**
 * Parses a FHIR search query (https://hl7.org/fhir/R4/search.html) into the engine-neutral
 * {@link SearchRequest}. Repeated parameters are AND, commas are OR (`\,` escapes one).
 * Throws `OperationOutcomeError` 400 for: forbidden keys (`FORBIDDEN_KEY`), unknown modifiers, bad
 * values, bad `_count`/`_sort`/`_total`/`_summary`/`_elements` (`INVALID_PARAMETER`), unknown
 * parameters when strict (`UNKNOWN_PARAMETER`), and a tampered or foreign cursor (`INVALID_CURSOR`).
 * Diagnostics name the parameter, never the value.
 */
export function parseSearch(query: Record<string, string[]>, options: ParseOptions): ParsedSearch {
  const table = new Map(options.parameters.map((d) => [d.code, d]));
  const now = (options.now ?? new Date()).getTime();
  const where: Condition[] = [];
  const filters: [string, string][] = [];
  const unknown: string[] = [];
  let sort: SortKey[] = [];
  let count = DEFAULT_COUNT;
  let total: SearchRequest['total'] = 'accurate';
  let summary: SearchSummary | undefined;
  let elements: string[] | undefined;
  let cursorToken: string | undefined;

  for (const key of Object.keys(query)) {
    checkKey(key);
    const raw: unknown = query[key];
    const values = Array.isArray(raw) ? raw : [raw];
    if (!values.every((v): v is string => typeof v === 'string' && v.length <= MAX_VALUE_LENGTH)) {
      bad(ErrorCode.INVALID_PARAMETER, `Search parameter '${key}' has a value that is too long or not text`, key);
    }
    const colon = key.indexOf(':');
    const name = colon >= 0 ? key.slice(0, colon) : key;
    const modifier = colon >= 0 ? key.slice(colon + 1) : undefined;
    const def = table.get(name);
    if (modifier !== undefined && (CONTROL.has(name) || IGNORED.has(name))) {
      bad(ErrorCode.INVALID_PARAMETER, `Search parameter '${name}' takes no modifier`, name);
    }
    switch (name) {
      case '_count': count = parseCount(single(name, values)); continue;
      case '_sort': sort = parseSort(single(name, values)); continue;
      case '_total': {
        const t = single(name, values);
        if (!(TOTALS as readonly string[]).includes(t)) bad(ErrorCode.INVALID_PARAMETER, "Search parameter '_total' must be none, estimate or accurate", name);
        total = t as SearchRequest['total'];
        continue;
      }
      case '_summary': summary = parseSummary(single(name, values), SUMMARIES); continue;
      case '_elements': elements = parseElements(single(name, values)); continue;
      case CURSOR_PARAM: cursorToken = single(name, values); continue;
    }
    if (IGNORED.has(name)) continue;
    if (!def) {
      if (!unknown.includes(name)) unknown.push(name);
      continue;
    }
    if (modifier !== undefined && !acceptsModifier(def, modifier)) {
      bad(ErrorCode.INVALID_PARAMETER, `Search parameter '${name}' does not support this modifier`, name);
    }
    for (const value of values) {
      if (value.trim() === '') continue; // an empty parameter is ignored
      where.push(parameterCondition(def, modifier, value, now));
      filters.push([name, value]);
      if (where.length > MAX_CONDITIONS) bad(ErrorCode.INVALID_PARAMETER, 'Too many search conditions');
    }
  }

  if (options.strict && unknown.length > 0) {
    bad(ErrorCode.UNKNOWN_PARAMETER, `Unknown search parameter(s): ${unknown.join(', ')}`);
  }
  if (summary === 'count') count = 0;
  const request: SearchRequest = { where, sort, count, total, states: ['active'] };
  const singleValued = [...new Set(where.flatMap(paramsOf))].filter((p) => table.get(p)?.singleValued === true);
  if (singleValued.length > 0) request.singleValued = singleValued;
  const fingerprint = searchFingerprint(filters, request);
  if (cursorToken !== undefined) {
    request.cursor = decodeCursor(cursorToken, fingerprint, options.cursorKey, keysetOrder(sort).length);
  }
  return {
    request,
    unknown,
    fingerprint,
    ...(summary ? { summary } : {}),
    ...(elements ? { elements } : {}),
  };
}
