import type { BundleLink, Patient } from 'fhir/r4.js';
import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import type { RequestContext } from '../../context/request-context.js';
import type { SearchCursor } from '../../store/port.js';
import { operationOutcome, ErrorCode } from '../../fhir/outcome.js';
import { parseSearch } from '../../fhir/search/parse.js';
import { CURSOR_PARAM, encodeCursor } from '../../fhir/search/cursor.js';
import { searchsetJson } from '../../fhir/bundle.js';
import { asksForPart, subsetResource } from '../../fhir/subset.js';
import type { ParsedSearch } from '../../fhir/search/types.js';
import { patientSearchParameters } from '../search-parameters.js';
import type { PatientDeps } from '../deps.js';
import { compartmentConditions } from '../../auth/compartment.js';

/**
 * `GET /fhir/Patient?…` and `POST /fhir/Patient/_search` (https://hl7.org/fhir/R4/search.html):
 * parse once into a neutral request, let the store run it on its indexes, answer a `searchset`
 * Bundle with keyset `self`/`next`/`previous` links. Unknown parameters are reported in an
 * OperationOutcome entry (400 with `Prefer: handling=strict`).
 */
export async function searchPatientsHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const query = req.method === 'POST' ? mergeQueries(req.query, req.body as Record<string, string[]> | undefined) : req.query;
  const parsed = parseSearch(query, {
    parameters: patientSearchParameters,
    strict: req.headers.prefer.handling === 'strict',
    cursorKey: deps.cursorKey,
    now: ctx.clock.now(),
  });
  // The compartment is part of the store query, never a filter applied to a page afterwards.
  parsed.request.where.push(...compartmentConditions(ctx.actor));
  const page = await deps.store.search(parsed.request);
  const matches = parsed.summary === 'count' ? [] : page.matches;
  // Stored JSON is served as is unless `_summary`/`_elements` ask for a part of it.
  const subsetted = asksForPart(parsed.summary, parsed.elements);
  const entries = matches.map((m) => ({
    fullUrl: `${ctx.baseUrl}/Patient/${m.id}`,
    json: subsetted ? JSON.stringify(subsetResource(JSON.parse(m.json) as Patient, parsed.summary, parsed.elements)) : m.json,
  }));
  const outcome = parsed.unknown.length
    ? operationOutcome([
        {
          severity: 'warning',
          issueType: 'not-supported',
          code: ErrorCode.UNKNOWN_PARAMETER,
          diagnostics: `Unknown search parameters were ignored: ${parsed.unknown.join(', ')}`,
          expression: parsed.unknown,
        },
      ])
    : undefined;
  return {
    status: 200,
    serialized: {
      json: searchsetJson({
        entries,
        ...(page.total !== undefined ? { total: page.total } : {}),
        links: pageLinks(`${ctx.baseUrl}/Patient`, query, parsed, page, deps.cursorKey),
        ...(outcome ? { outcome } : {}),
      }),
      entities: matches.map((m) => `Patient/${m.id}/_history/${m.versionId}`),
    },
  };
}

/** `self`, `next` and `previous` links: the query as given, with an opaque cursor for other pages. */
function pageLinks(
  base: string,
  query: Record<string, string[]>,
  parsed: ParsedSearch,
  page: { next?: SearchCursor; previous?: SearchCursor },
  cursorKey: string,
): BundleLink[] {
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(query)) {
    if (name === CURSOR_PARAM || parsed.unknown.includes(name)) continue;
    for (const value of values) params.append(name, value);
  }
  const url = (cursor?: string) => {
    const p = new URLSearchParams(params);
    if (cursor) p.set(CURSOR_PARAM, cursor);
    const text = p.toString();
    return text ? `${base}?${text}` : base;
  };
  const links: BundleLink[] = [{ relation: 'self', url: url(query[CURSOR_PARAM]?.[0]) }];
  if (page.next) links.push({ relation: 'next', url: url(encodeCursor(page.next, parsed.fingerprint, cursorKey)) });
  if (page.previous) links.push({ relation: 'previous', url: url(encodeCursor(page.previous, parsed.fingerprint, cursorKey)) });
  return links;
}

/** `POST _search`: the form body's parameters join the URL's (https://hl7.org/fhir/R4/http.html#search). */
function mergeQueries(a: Record<string, string[]>, b: Record<string, string[]> | undefined): Record<string, string[]> {
  const merged: Record<string, string[]> = Object.create(null);
  for (const source of [a, b ?? {}]) {
    for (const [name, values] of Object.entries(source)) (merged[name] ??= []).push(...values);
  }
  return merged;
}
