import type { Bundle, BundleEntry, Resource } from 'fhir/r4.js';
import { answerResource, type FhirRequest, type FhirResponse } from '../fhir/request.js';
import type { FhirRoute } from '../http/fhir-route.js';
import { errors, ErrorCode, informational, type OperationOutcomeError } from '../fhir/outcome.js';
import { assertNoForbiddenKeys } from '../patient/validation/forbidden-keys.js';
import { parseQueryString } from '../http/fhir-request.js';

/** The interactions a Bundle entry may ask for (https://hl7.org/fhir/R4/bundle.html#request). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Nesting allowed in a Bundle body: a Patient's limit plus the Bundle's own levels. */
const MAX_BUNDLE_DEPTH = 72;

/** A checked `batch` or `transaction` Bundle. */
export interface RequestBundle {
  type: 'batch' | 'transaction';
  entries: BundleEntry[];
}

/**
 * Checks the shape of a `batch`/`transaction` Bundle (https://hl7.org/fhir/R4/http.html#transaction):
 * 400 `INVALID_BUNDLE` when it is not a Bundle of one of those types, or two entries share a
 * `fullUrl`; 413 `PAYLOAD_TOO_LARGE` over `maxEntries`; 400 `FORBIDDEN_KEY` anywhere. Entries are
 * checked one by one later ({@link entryRequest}), so a batch can answer each on its own.
 */
export function checkBundle(body: unknown, maxEntries: number): RequestBundle {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || (body as Resource).resourceType !== 'Bundle') {
    throw errors.badRequest(ErrorCode.INVALID_BUNDLE, 'POST to the base takes a Bundle of type batch or transaction', ['Bundle']);
  }
  assertNoForbiddenKeys(body, 'Bundle', { maxDepth: MAX_BUNDLE_DEPTH });
  const bundle = body as Bundle;
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw errors.badRequest(ErrorCode.INVALID_BUNDLE, 'Bundle.type must be batch or transaction', ['Bundle.type']);
  }
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw errors.badRequest(ErrorCode.INVALID_BUNDLE, 'Bundle.entry must be an array', ['Bundle.entry']);
  if (entries.length > maxEntries) {
    throw errors.payloadTooLarge(`A Bundle may hold at most ${maxEntries} entries (MAX_BUNDLE_ENTRIES)`);
  }
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw errors.badRequest(ErrorCode.INVALID_BUNDLE, 'A Bundle entry must be an object', [`Bundle.entry[${i}]`]);
    }
    const fullUrl = entry.fullUrl;
    if (fullUrl === undefined) return;
    if (typeof fullUrl !== 'string') throw errors.badRequest(ErrorCode.INVALID_BUNDLE, 'fullUrl must be a string', [`Bundle.entry[${i}].fullUrl`]);
    if (seen.has(fullUrl)) {
      throw errors.badRequest(ErrorCode.INVALID_BUNDLE, 'Two entries of the Bundle have the same fullUrl', [`Bundle.entry[${i}].fullUrl`]);
    }
    seen.add(fullUrl);
  });
  return { type: bundle.type, entries };
}

/** An entry's request, matched to the route that serves it. */
export interface RoutedEntry<D> {
  route: FhirRoute<D>;
  request: FhirRequest;
}

/**
 * Turns an entry into the FhirRequest its REST twin would produce and finds the route that serves
 * it, like Express would (first route whose method and path match). `url` is relative to the base
 * (`Patient/1`, `Patient?identifier=…`) or absolute under `baseUrl`. 400 `INVALID_BUNDLE` for a
 * malformed entry, 404/405 when no route serves it.
 */
export function entryRequest<D>(
  routes: readonly FhirRoute<D>[],
  entry: BundleEntry,
  index: number,
  options: { baseUrl: string; prefer: FhirRequest['headers']['prefer'] },
): RoutedEntry<D> {
  const where = `Bundle.entry[${index}].request`;
  const r = entry.request as Partial<NonNullable<BundleEntry['request']>> | undefined;
  if (!r || typeof r.method !== 'string' || !METHODS.has(r.method) || typeof r.url !== 'string' || r.url === '') {
    throw errors.badRequest(ErrorCode.INVALID_BUNDLE, 'An entry needs request.method and request.url', [where]);
  }
  let url = r.url.startsWith(`${options.baseUrl}/`) ? r.url.slice(options.baseUrl.length + 1) : r.url;
  url = url.replace(/^\/+/, '');
  const q = url.indexOf('?');
  const path = `/${q >= 0 ? url.slice(0, q) : url}`.replace(/\/+$/, '');
  const query = q >= 0 ? parseQueryString(url.slice(q + 1)) : Object.create(null);
  const method = r.method === 'HEAD' ? 'get' : (r.method.toLowerCase() as FhirRoute<D>['method']);
  const segments = `/fhir${path}`.split('/');
  let pathMatched = false;
  for (const route of routes) {
    const params = matchPath(route.path, segments);
    if (!params) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const headers: FhirRequest['headers'] = { prefer: options.prefer };
    if (typeof r.ifMatch === 'string') headers.ifMatch = r.ifMatch;
    if (typeof r.ifNoneMatch === 'string') headers.ifNoneMatch = r.ifNoneMatch;
    if (typeof r.ifModifiedSince === 'string') headers.ifModifiedSince = r.ifModifiedSince;
    if (typeof r.ifNoneExist === 'string') headers.ifNoneExist = r.ifNoneExist;
    return { route, request: { method: r.method, path, params, query, body: entryBody(route, entry, index), headers } };
  }
  if (pathMatched) throw errors.methodNotAllowed();
  throw errors.unknownRoute();
}

/** Express-style match of a route path (`/fhir/Patient/:id`) against URL segments; params decoded. */
function matchPath(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/');
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const segment = segments[i]!;
    if (part.startsWith(':')) {
      if (segment === '') return undefined;
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
      } catch {
        return undefined;
      }
    } else if (part !== segment) return undefined;
  }
  return params;
}

/**
 * The body the route reads: the entry's resource for JSON routes; for JSON Patch, a `Binary` with
 * `contentType: application/json-patch+json` and base64 `data` (https://hl7.org/fhir/R4/http.html#patch).
 */
function entryBody<D>(route: FhirRoute<D>, entry: BundleEntry, index: number): unknown {
  if (route.body === 'json') return entry.resource;
  if (route.body === 'form') return Object.create(null);
  if (route.body !== 'json-patch') return undefined;
  const binary = entry.resource as { resourceType?: unknown; contentType?: unknown; data?: unknown } | undefined;
  if (binary?.resourceType !== 'Binary' || binary.contentType !== 'application/json-patch+json' || typeof binary.data !== 'string') {
    throw errors.badRequest(ErrorCode.INVALID_PATCH, 'A PATCH entry carries a Binary of contentType application/json-patch+json', [
      `Bundle.entry[${index}].resource`,
    ]);
  }
  try {
    return JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
  } catch {
    throw errors.badRequest(ErrorCode.INVALID_PATCH, 'The Binary data of a PATCH entry is not a JSON Patch', [`Bundle.entry[${index}].resource.data`]);
  }
}

/**
 * The response entry of a `batch-response`/`transaction-response`
 * (https://hl7.org/fhir/R4/bundle.html#response): status, location, etag, lastModified, and the
 * resource as `Prefer: return` asks (representation by default).
 */
export function responseEntry(answer: FhirResponse, baseUrl: string, prefer: FhirRequest['headers']['prefer']): BundleEntry {
  const v = answer.version;
  const entry: BundleEntry = {};
  if (v?.id) entry.fullUrl = `${baseUrl}/Patient/${v.id}`;
  const resource = prefer.return === 'minimal' ? undefined : answerResource(answer);
  if (resource) entry.resource = prefer.return === 'OperationOutcome' ? informational('The interaction succeeded') : resource;
  entry.response = {
    status: String(answer.status),
    ...(v && answer.location ? { location: `Patient/${v.id}/_history/${v.versionId}` } : {}),
    ...(v?.versionId ? { etag: `W/"${v.versionId}"` } : {}),
    ...(v?.lastUpdated ? { lastModified: v.lastUpdated } : {}),
  };
  return entry;
}

/** The response entry of a failed batch entry: its status and OperationOutcome. */
export function errorEntry(error: OperationOutcomeError): BundleEntry {
  return { response: { status: String(error.status), outcome: error.toOperationOutcome() } };
}
