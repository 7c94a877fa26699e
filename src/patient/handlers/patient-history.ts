import type { BundleLink } from 'fhir/r4.js';
import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import type { RequestContext } from '../../context/request-context.js';
import type { StoredPatient } from '../../store/port.js';
import { errors, ErrorCode } from '../../fhir/outcome.js';
import { assertFhirId } from '../../fhir/id.js';
import { etagFor } from '../../fhir/etag.js';
import { historyBundle, type HistoryEntry } from '../../fhir/bundle.js';
import type { PatientDeps } from '../deps.js';
import { assertPatientInCompartment } from '../../auth/compartment.js';

const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;
const KNOWN = new Set(['_count', '_since', '_before', '_format']);

/**
 * `GET /fhir/Patient/{id}/_history` (https://hl7.org/fhir/R4/http.html#history): every version,
 * newest first, as a `history` Bundle with `_count`, `_since` and keyset paging (`_before`, the
 * version id where the next page starts). A soft-deleted version appears as a DELETE entry.
 */
export async function patientHistoryHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  for (const name of Object.keys(req.query)) {
    if (!KNOWN.has(name) && req.headers.prefer.handling === 'strict') {
      throw errors.badRequest(ErrorCode.UNKNOWN_PARAMETER, `Unknown parameter for history: ${name.slice(0, 40)}`);
    }
  }
  const count = integerParam(req, '_count', 1, MAX_COUNT) ?? DEFAULT_COUNT;
  const before = integerParam(req, '_before', 2, Number.MAX_SAFE_INTEGER);
  const sinceText = single(req, '_since');
  const since = sinceText === undefined ? undefined : instant(sinceText);

  const current = await deps.store.read(id);
  if (!current) throw errors.notFound();
  assertPatientInCompartment(ctx.actor, current.resource);
  const page = await deps.store.history(id, {
    count,
    ...(since !== undefined ? { since } : {}),
    ...(before !== undefined ? { beforeVersion: before } : {}),
  });

  const base = `${ctx.baseUrl}/Patient/${id}/_history`;
  const common = `_count=${count}${sinceText !== undefined ? `&_since=${encodeURIComponent(sinceText)}` : ''}`;
  const links: BundleLink[] = [{ relation: 'self', url: `${base}?${common}${before !== undefined ? `&_before=${before}` : ''}` }];
  const last = page.versions.at(-1);
  if (page.hasMore && last) {
    links.push({ relation: 'next', url: `${base}?${common}&_before=${last.resource.meta?.versionId}` });
  }
  const entries = page.versions.map((v) => historyEntry(ctx.baseUrl, v));
  return { status: 200, resource: historyBundle(entries, page.total, links) };
}

/** One version as a history entry: POST for version 1, DELETE for a deletion, PUT otherwise. */
export function historyEntry(baseUrl: string, version: StoredPatient): HistoryEntry {
  const { id = '', meta = {} } = version.resource;
  const versionId = meta.versionId ?? '';
  const deleted = version.state === 'soft-deleted';
  return {
    fullUrl: `${baseUrl}/Patient/${id}`,
    ...(deleted ? {} : { resource: version.resource }),
    method: deleted ? 'DELETE' : versionId === '1' ? 'POST' : 'PUT',
    url: deleted || versionId !== '1' ? `Patient/${id}` : 'Patient',
    status: deleted ? '204' : versionId === '1' ? '201' : '200',
    etag: etagFor(versionId),
    lastModified: meta.lastUpdated ?? '',
  };
}

function single(req: FhirRequest, name: string): string | undefined {
  const values = req.query[name];
  if (!values) return undefined;
  if (values.length > 1) throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `${name} may appear once`);
  return values[0];
}

function integerParam(req: FhirRequest, name: string, min: number, max: number): number | undefined {
  const text = single(req, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** `_since` is an instant (https://hl7.org/fhir/R4/datatypes.html#instant); a date is accepted too. */
function instant(text: string): number {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text);
  const ms = Date.parse(text);
  if (!ok || Number.isNaN(ms)) throw errors.badRequest(ErrorCode.INVALID_PARAMETER, '_since must be an instant');
  return ms;
}
