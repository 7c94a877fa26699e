import { createHash } from 'node:crypto';
import type { Actor } from '../context/actor.js';
import { ErrorCode, errors } from '../fhir/outcome.js';
import { CURSOR_PARAM, decodeCursor, encodeCursor } from '../fhir/search/cursor.js';
import { dateCondition, parseDateRange, splitDatePrefix } from '../fhir/search/date-range.js';
import { splitAlternatives } from '../fhir/search/parse-value.js';
import { DEFAULT_COUNT, MAX_COUNT } from '../fhir/search/parse.js';
import type { Condition } from '../fhir/search/types.js';
import type { AuditSearchRequest } from './audit-port.js';

/**
 * The AuditEvent search parameters this server answers (R4 names,
 * https://hl7.org/fhir/R4/auditevent.html#search): `date` with every prefix; `patient`, `entity`,
 * `agent` references; `action`, `subtype`, `outcome`, `_id` tokens. Comma = OR, repeat = AND.
 */
export const AUDIT_SEARCH_PARAMS = ['_id', 'date', 'patient', 'entity', 'agent', 'action', 'subtype', 'outcome'] as const;
export type AuditSearchParam = (typeof AUDIT_SEARCH_PARAMS)[number];

const CONTROL = new Set(['_count', '_sort', '_total', '_format', '_pretty', CURSOR_PARAM]);
const ACTIONS = new Set(['C', 'R', 'U', 'D', 'E']);
const OUTCOMES = new Set(['0', '4', '8', '12']);

function invalid(param: string, why: string): never {
  throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `Search parameter '${param}' ${why}`, [param]);
}

function single(param: string, values: readonly string[]): string {
  if (values.length !== 1) invalid(param, 'may appear only once');
  return values[0]!;
}

/** `system|code` or `code` → code. */
function tokenCode(value: string): string {
  const bar = value.lastIndexOf('|');
  return bar >= 0 ? value.slice(bar + 1) : value;
}

function reference(param: AuditSearchParam, value: string): string {
  const ref = value.replace(/\/_history\/[^/]*$/, '');
  // a bare id on `patient` means a Patient; on `entity` too (every entity this server records is one)
  if ((param === 'patient' || param === 'entity') && !ref.includes('/')) return `Patient/${ref}`;
  if (param === 'patient' && !ref.startsWith('Patient/')) invalid(param, 'must reference a Patient');
  return ref;
}

function valueCondition(param: AuditSearchParam, value: string, now: number): Condition {
  const alternatives = splitAlternatives(value);
  if (param === 'date') {
    const conditions = alternatives.map((alt) => {
      const { prefix, rest } = splitDatePrefix(alt);
      const range = parseDateRange(rest);
      if (!range) invalid(param, 'must be a date, dateTime or instant with an optional prefix');
      return dateCondition('date', prefix, range, now);
    });
    return conditions.length === 1 ? conditions[0]! : { kind: 'or', conditions };
  }
  let values: string[];
  switch (param) {
    case 'patient':
    case 'entity':
    case 'agent':
      values = alternatives.map((v) => reference(param, v));
      break;
    case 'action':
      values = alternatives.map(tokenCode);
      if (!values.every((v) => ACTIONS.has(v))) invalid(param, 'must be C, R, U, D or E');
      break;
    case 'outcome':
      values = alternatives.map(tokenCode);
      if (!values.every((v) => OUTCOMES.has(v))) invalid(param, 'must be 0, 4, 8 or 12');
      break;
    default:
      values = alternatives.map(tokenCode);
  }
  return { kind: 'entry', param, tests: [{ field: 'code', op: 'in', values: [...new Set(values)] }] };
}

/** A parsed AuditEvent search and what the HTTP layer needs to build links. */
export interface ParsedAuditSearch {
  request: AuditSearchRequest;
  /** Names (never values) of unknown parameters, reported in an OperationOutcome. */
  unknown: string[];
  fingerprint: string;
}

/**
 * Parses an AuditEvent query. A patient-context actor is confined to events whose entity is its
 * own Patient (accounting of disclosures, SPEC §8): that condition is added to every search.
 * Throws 400 `INVALID_PARAMETER` / `UNKNOWN_PARAMETER` (strict) / `INVALID_CURSOR`.
 */
export function parseAuditSearch(
  query: Record<string, string[]>,
  options: { actor: Actor; strict: boolean; cursorKey: string; now: Date },
): ParsedAuditSearch {
  const where: Condition[] = [];
  const unknown: string[] = [];
  let descending = true;
  let count = DEFAULT_COUNT;
  let total = true;
  let cursorToken: string | undefined;
  const known = new Set<string>(AUDIT_SEARCH_PARAMS);
  for (const [key, values] of Object.entries(query)) {
    if (key.includes(':')) invalid(key.split(':')[0]!, 'takes no modifier here');
    if (CONTROL.has(key)) {
      const value = single(key, values);
      if (key === '_count') {
        if (!/^\d{1,7}$/.test(value) || Number(value) > MAX_COUNT) invalid(key, `must be an integer from 0 to ${MAX_COUNT}`);
        count = Number(value);
      } else if (key === '_sort') {
        if (value !== 'date' && value !== '-date') invalid(key, 'accepts only date or -date');
        descending = value === '-date';
      } else if (key === '_total') {
        if (!['none', 'estimate', 'accurate'].includes(value)) invalid(key, 'must be none, estimate or accurate');
        total = value !== 'none';
      } else if (key === CURSOR_PARAM) {
        cursorToken = value;
      }
      continue;
    }
    if (!known.has(key)) {
      unknown.push(key);
      continue;
    }
    for (const value of values) {
      if (value.length > 1024) invalid(key, 'has a value that is too long');
      if (value.trim() !== '') where.push(valueCondition(key as AuditSearchParam, value, options.now.getTime()));
    }
  }
  if (options.strict && unknown.length > 0) {
    throw errors.badRequest(ErrorCode.UNKNOWN_PARAMETER, `Unknown search parameter(s): ${unknown.join(', ')}`);
  }
  if (options.actor.patient !== undefined) {
    where.push({ kind: 'entry', param: 'patient', tests: [{ field: 'code', op: 'in', values: [`Patient/${options.actor.patient}`] }] });
  }
  const fingerprint = createHash('sha256').update(JSON.stringify(['AuditEvent', where, descending])).digest('base64url').slice(0, 22);
  const request: AuditSearchRequest = { where, descending, count, total };
  if (cursorToken !== undefined) {
    const cursor = decodeCursor(cursorToken, fingerprint, options.cursorKey, 2);
    const [recordedMs, seq] = cursor.after;
    if (typeof recordedMs !== 'number' || !/^\d{1,15}$/.test(String(seq))) {
      throw errors.badRequest(ErrorCode.INVALID_CURSOR, 'The paging cursor is invalid', [CURSOR_PARAM]);
    }
    request.cursor = { after: [recordedMs, Number(seq)], direction: cursor.direction };
  }
  return { request, unknown, fingerprint };
}

/** The opaque cursor token for a keyset position `[recordedMs, seq]`. */
export function auditCursorToken(position: [number, number], direction: 'next' | 'previous', fingerprint: string, key: string): string {
  return encodeCursor({ after: [position[0], String(position[1])], direction }, fingerprint, key);
}
