import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { RequestContext } from '../context/request-context.js';
import type { TypeHistoryCursor } from '../store/port.js';
import type { PatientDeps } from '../patient/deps.js';
import { errors, ErrorCode } from '../fhir/outcome.js';
import { historyBundle } from '../fhir/bundle.js';
import { historyLinks, parseHistoryParams } from '../fhir/history-params.js';
import { historyEntry } from '../patient/handlers/patient-history.js';

/** `_before` of the type-level history: `<lastUpdated ms>_<versionId>_<id>` of the last entry seen. */
const CURSOR = /^(\d{1,16})_([1-9]\d{0,14})_([A-Za-z0-9\-.]{1,64})$/;

/**
 * `GET /fhir/Patient/_history` (https://hl7.org/fhir/R4/http.html#history): the versions of every
 * patient, newest first, as a `history` Bundle with `_count`, `_since` and keyset paging (`_before`,
 * the position of the last entry; the next link carries it). No `total`: counting every version
 * would make each page cost the size of the history. Unconfined actors only (authorization refuses
 * compartment-bound tokens). Deletions appear as DELETE entries.
 */
export async function typeHistoryHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const params = parseHistoryParams(req);
  const after = params.before === undefined ? undefined : cursorOf(params.before);
  const page = await deps.store.historyAcrossPatients({
    count: params.count,
    ...(params.since !== undefined ? { since: params.since } : {}),
    ...(after ? { after } : {}),
  });
  const next = page.next ? `${page.next.lastUpdatedMs}_${page.next.versionId}_${page.next.id}` : undefined;
  const links = historyLinks(`${ctx.baseUrl}/Patient/_history`, params, next);
  return { status: 200, resource: historyBundle(page.versions.map((v) => historyEntry(ctx.baseUrl, v)), links) };
}

function cursorOf(text: string): TypeHistoryCursor {
  const m = CURSOR.exec(text);
  if (!m) throw errors.badRequest(ErrorCode.INVALID_CURSOR, '_before is not a history position of this server', ['_before']);
  return { lastUpdatedMs: Number(m[1]), versionId: Number(m[2]), id: m[3]! };
}
