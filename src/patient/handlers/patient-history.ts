import type { BundleLink } from 'fhir/r4.js';
import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import type { RequestContext } from '../../context/request-context.js';
import type { StoredPatient } from '../../store/port.js';
import { errors, ErrorCode } from '../../fhir/outcome.js';
import { assertFhirId } from '../../fhir/id.js';
import { etagFor } from '../../fhir/etag.js';
import { historyBundle, type HistoryEntry } from '../../fhir/bundle.js';
import { historyLinks, parseHistoryParams } from '../../fhir/history-params.js';
import type { PatientDeps } from '../deps.js';
import { assertPatientInCompartment } from '../../auth/compartment.js';


/**
 * `GET /fhir/Patient/{id}/_history` (https://hl7.org/fhir/R4/http.html#history): every version,
 * newest first, as a `history` Bundle with `_count`, `_since` and keyset paging (`_before`, the
 * version id where the next page starts). A soft-deleted version appears as a DELETE entry.
 */
export async function patientHistoryHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  const params = parseHistoryParams(req);
  const before = params.before === undefined ? undefined : versionPosition(params.before);

  const current = await deps.store.read(id);
  if (!current) throw errors.notFound();
  assertPatientInCompartment(ctx.actor, current.resource);
  const page = await deps.store.history(id, {
    count: params.count,
    ...(params.since !== undefined ? { since: params.since } : {}),
    ...(before !== undefined ? { beforeVersion: before } : {}),
  });
  const last = page.versions.at(-1);
  const links = historyLinks(`${ctx.baseUrl}/Patient/${id}/_history`, params, page.hasMore && last ? last.resource.meta?.versionId : undefined);
  const entries = page.versions.map((v) => historyEntry(ctx.baseUrl, v));
  return { status: 200, resource: historyBundle(entries, links, page.total) };
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

/** `_before` of an instance history: the version id where the next page starts (2 and up). */
function versionPosition(text: string): number {
  const n = Number(text);
  if (!/^\d{1,16}$/.test(text) || n < 2 || n > Number.MAX_SAFE_INTEGER) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `_before must be an integer from 2 to ${Number.MAX_SAFE_INTEGER}`, ['_before']);
  }
  return n;
}
