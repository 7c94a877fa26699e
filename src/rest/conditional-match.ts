import type { Patient } from 'fhir/r4.js';
import type { RequestContext } from '../context/request-context.js';
import type { PatientStore } from '../store/port.js';
import { errors, ErrorCode } from '../fhir/outcome.js';
import { parseSearch } from '../fhir/search/parse.js';
import { patientSearchParameters } from '../patient/search-parameters.js';
import { compartmentConditions } from '../auth/compartment.js';
import { parseQueryString } from '../http/fhir-request.js';

/** Query parameters that are not match criteria of a conditional interaction. */
const NOT_CRITERIA = new Set(['_format', 'reason', 'note']);

/**
 * The active patients matching a conditional interaction's criteria
 * (https://hl7.org/fhir/R4/http.html#ccreate), searched through the same parser and store indexes
 * as `GET /fhir/Patient` and confined to the actor's compartment. Returns at most two: callers
 * only tell none, one and several apart. Unknown parameters answer 400 (a criterion silently
 * ignored would widen the match); no criteria at all answers 400.
 */
export async function findMatches(
  store: PatientStore,
  ctx: RequestContext,
  query: Record<string, string[]>,
  cursorKey: string,
): Promise<Patient[]> {
  const criteria: Record<string, string[]> = Object.create(null);
  for (const [name, values] of Object.entries(query)) if (!NOT_CRITERIA.has(name)) criteria[name] = values;
  const parsed = parseSearch(criteria, { parameters: patientSearchParameters, strict: true, cursorKey, now: ctx.clock.now() });
  if (parsed.request.where.length === 0) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, 'A conditional interaction needs search criteria, e.g. identifier=system|value');
  }
  parsed.request.where.push(...compartmentConditions(ctx.actor));
  const page = await store.search({ ...parsed.request, count: 2, total: 'none', sort: [], states: ['active'] });
  return page.matches.map((m) => JSON.parse(m.json) as Patient);
}

/**
 * The criteria of an `If-None-Exist` header or a conditional reference: a query string, optionally
 * written `Patient?…` or `?…`.
 */
export function criteriaOf(text: string): Record<string, string[]> {
  return parseQueryString(text.replace(/^(Patient)?\?/, ''));
}

/** 412 `MULTIPLE_MATCHES`: the criteria were not selective enough. */
export function multipleMatches() {
  return errors.preconditionFailed(ErrorCode.MULTIPLE_MATCHES, 'Several patients match the criteria; make them more selective');
}
