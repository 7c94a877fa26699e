import { ErrorCode, errors } from '../outcome.js';
import { dateCondition, parseDateRange, splitDatePrefix } from './date-range.js';
import { foldText } from './fold.js';
import type { SearchParameterDefinition } from './search-parameter.js';
import type { Condition, EntryTest } from './types.js';

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const TYPE_RE = /^[A-Z][A-Za-z]{1,63}$/;

/** A 400 naming the parameter, never echoing the value (values may be PHI). */
export function invalidValue(param: string, why = 'has an invalid value'): never {
  throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `Search parameter '${param}' ${why}`, [param]);
}

/**
 * Splits on every `sep` not escaped by a backslash and unescapes `\,` `\|` `\$` `\\`
 * (https://hl7.org/fhir/R4/search.html#escaping).
 */
export function splitEscaped(value: string, sep: ',' | '|'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\' && i + 1 < value.length && ',|$\\'.includes(value[i + 1]!)) {
      current += value[++i];
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** Splits a comma list but keeps escapes for the next level (token `|`). */
export function splitAlternatives(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\' && i + 1 < value.length) {
      current += ch + value[++i];
    } else if (ch === ',') {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  return splitEscaped(value, ',').join(',');
}

function entry(param: string, tests: EntryTest[]): Condition {
  return { kind: 'entry', param, tests };
}

function stringCondition(def: SearchParameterDefinition, modifier: string | undefined, raw: string): Condition {
  const value = unescape(raw);
  if (modifier === 'exact') return entry(def.code, [{ field: 'exact', op: 'eq', value }]);
  const folded = foldText(value);
  if (!folded) invalidValue(def.code, 'needs a non-blank value');
  if (modifier === 'contains') return entry(def.code, [{ field: 'text', op: 'contains', value: folded }]);
  return entry(def.code, [{ field: 'text', op: 'prefix', value: folded }]);
}

function tokenCondition(def: SearchParameterDefinition, modifier: string | undefined, raw: string): Condition {
  if (modifier === 'text') {
    const folded = foldText(unescape(raw));
    if (!folded) invalidValue(def.code, 'needs a non-blank value');
    return entry(def.code, [{ field: 'text', op: 'prefix', value: folded }]);
  }
  const parts = splitEscaped(raw, '|');
  if (parts.length > 2) invalidValue(def.code, "has more than one '|'");
  const [first, second] = parts as [string, string | undefined];
  const system = second === undefined ? undefined : first;
  const code = second === undefined ? first : second;
  if (system === undefined && code === '') invalidValue(def.code, 'needs a code');
  if (system === '' && code === '') invalidValue(def.code, 'needs a system or a code');
  const tests: EntryTest[] = [];
  if (system !== undefined) tests.push({ field: 'system', op: 'eq', value: system });
  if (code !== '') {
    const normalized = def.normalizeCode ? def.normalizeCode(code, system || undefined) : code;
    if (def.codes && !def.codes.includes(normalized)) invalidValue(def.code, 'is not one of the allowed codes');
    if (def.code === '_id' && !ID_RE.test(normalized)) invalidValue(def.code, 'is not a valid id');
    tests.push({ field: 'code', op: 'eq', value: normalized });
  }
  return entry(def.code, tests);
}

function referenceCondition(def: SearchParameterDefinition, modifier: string | undefined, raw: string): Condition {
  const targets = def.targets ?? [];
  let value = unescape(raw);
  if (/^https?:\/\//i.test(value)) {
    const segments = value.replace(/\/_history\/[^/]*$/, '').split('/');
    value = segments.slice(-2).join('/');
  }
  const slash = value.indexOf('/');
  const type = slash >= 0 ? value.slice(0, slash) : modifier;
  const id = slash >= 0 ? value.slice(slash + 1) : value;
  if (!ID_RE.test(id)) invalidValue(def.code, 'is not a valid reference');
  if (type !== undefined) {
    if (!TYPE_RE.test(type) || !targets.includes(type)) invalidValue(def.code, 'refers to a resource type it cannot point to');
    if (modifier !== undefined && modifier !== type) invalidValue(def.code, 'has a type modifier that contradicts its value');
    return entry(def.code, [{ field: 'ref', op: 'eq', value: `${type}/${id}` }]);
  }
  const refs = targets.map((t) => `${t}/${id}`);
  return entry(def.code, refs.length === 1 ? [{ field: 'ref', op: 'eq', value: refs[0]! }] : [{ field: 'ref', op: 'in', values: refs }]);
}

function dateValueCondition(def: SearchParameterDefinition, raw: string, now: number): Condition {
  const { prefix, rest } = splitDatePrefix(unescape(raw));
  const range = parseDateRange(rest);
  if (!range) invalidValue(def.code, 'is not a valid date');
  return dateCondition(def.code, prefix, range, now);
}

/**
 * The condition for one alternative (between commas) of one parameter value, per the parameter's
 * type (https://hl7.org/fhir/R4/search.html#ptypes). `modifier` has already been checked against
 * the definition; `:not` and `:missing` are handled by the caller.
 */
export function valueCondition(def: SearchParameterDefinition, modifier: string | undefined, raw: string, now: number): Condition {
  switch (def.type) {
    case 'string':
      return stringCondition(def, modifier, raw);
    case 'token':
      return tokenCondition(def, modifier === 'not' ? undefined : modifier, raw);
    case 'reference':
      return referenceCondition(def, modifier, raw);
    case 'date':
      return dateValueCondition(def, raw, now);
  }
}
