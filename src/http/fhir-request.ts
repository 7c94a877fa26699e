import type { Request } from 'express';
import type { FhirRequest, FhirRequestHeaders } from '../fhir/request.js';
import { errors, ErrorCode } from '../fhir/outcome.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Reads the query string as FHIR wants it: every value of a repeated parameter kept, in order
 * (`given=a&given=b` is AND). Parsed from the raw URL so Express's query parser cannot reshape it.
 */
export function parseQueryString(search: string): Record<string, string[]> {
  const query: Record<string, string[]> = Object.create(null);
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(search);
  } catch {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, 'The query string is malformed');
  }
  for (const [name, value] of params) {
    if (FORBIDDEN_KEYS.has(name.split(':')[0]!)) {
      throw errors.badRequest(ErrorCode.FORBIDDEN_KEY, 'A query parameter name is not allowed');
    }
    (query[name] ??= []).push(value);
  }
  return query;
}

/** Parses `Prefer` (https://hl7.org/fhir/R4/http.html#ops): `return`, `handling`, `respond-async`. */
export function parsePrefer(header: string | undefined): FhirRequestHeaders['prefer'] {
  const prefer: FhirRequestHeaders['prefer'] = {};
  if (!header) return prefer;
  for (const part of header.split(/[,;]/)) {
    const [rawName, rawValue] = part.split('=');
    const name = rawName?.trim().toLowerCase();
    const value = rawValue?.trim().replace(/^"|"$/g, '');
    if (name === 'return' && (value === 'minimal' || value === 'representation' || value === 'OperationOutcome')) {
      prefer.return = value;
    } else if (name === 'handling' && (value === 'strict' || value === 'lenient')) {
      prefer.handling = value;
    } else if (name === 'respond-async') {
      prefer.respondAsync = true;
    }
  }
  return prefer;
}

/** The HTTP headers handlers read, by their FhirRequestHeaders field (Prefer is parsed apart). */
const PASSED_HEADERS = [
  ['ifMatch', 'if-match'],
  ['ifNoneMatch', 'if-none-match'],
  ['ifModifiedSince', 'if-modified-since'],
  ['ifNoneExist', 'if-none-exist'],
  ['idempotencyKey', 'idempotency-key'],
  ['contentType', 'content-type'],
] as const satisfies readonly (readonly [Exclude<keyof FhirRequestHeaders, 'prefer'>, string])[];

/** Maps an Express request (already routed and body-parsed) to a transport-neutral FhirRequest. */
export function toFhirRequest(req: Request, path: string): FhirRequest {
  const queryStart = req.originalUrl.indexOf('?');
  const query = queryStart >= 0 ? parseQueryString(req.originalUrl.slice(queryStart + 1)) : Object.create(null);
  const headers: FhirRequestHeaders = { prefer: parsePrefer(req.get('prefer')) };
  for (const [field, name] of PASSED_HEADERS) {
    const value = req.get(name);
    if (value !== undefined) headers[field] = value;
  }
  return {
    method: req.method as FhirRequest['method'],
    path,
    params: { ...(req.params as Record<string, string>) },
    query,
    body: req.body,
    headers,
  };
}
