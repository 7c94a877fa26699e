import type { BundleLink } from 'fhir/r4.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { RequestContext } from '../context/request-context.js';
import type { TypeHistoryCursor } from '../store/port.js';
import type { PatientDeps } from '../patient/deps.js';
import { errors, ErrorCode } from '../fhir/outcome.js';
import { historyBundle } from '../fhir/bundle.js';
import { historyEntry } from '../patient/handlers/patient-history.js';

const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;
const KNOWN = new Set(['_count', '_since', '_before', '_format']);
/** `_before` of the type-level history: `<lastUpdated ms>_<versionId>_<id>` of the last entry seen. */
const CURSOR = /^(\d{1,16})_([1-9]\d{0,14})_([A-Za-z0-9\-.]{1,64})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * `GET /fhir/Patient/_history` (https://hl7.org/fhir/R4/http.html#history): the versions of every
 * patient, newest first, as a `history` Bundle with `_count`, `_since` and keyset paging (`_before`,
 * the position of the last entry; the next link carries it). No `total`: counting every version
 * would make each page cost the size of the history. Unconfined actors only (authorization refuses
 * compartment-bound tokens). Deletions appear as DELETE entries.
 */
export async function typeHistoryHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  for (const name of Object.keys(req.query)) {
    if (!KNOWN.has(name) && req.headers.prefer.handling === 'strict') {
      throw errors.badRequest(ErrorCode.UNKNOWN_PARAMETER, 'Unknown parameter for history');
    }
  }
  const countText = single(req, '_count');
  const count = countText === undefined ? DEFAULT_COUNT : Number(countText);
  if (countText !== undefined && (!/^\d{1,4}$/.test(countText) || count < 1 || count > MAX_COUNT)) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `_count must be an integer from 1 to ${MAX_COUNT}`, ['_count']);
  }
  const sinceText = single(req, '_since');
  const since = sinceText === undefined ? undefined : Date.parse(sinceText);
  if (sinceText !== undefined && (!INSTANT.test(sinceText) || Number.isNaN(since))) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, '_since must be an instant', ['_since']);
  }
  const beforeText = single(req, '_before');
  const after = beforeText === undefined ? undefined : cursorOf(beforeText);

  const page = await deps.store.historyAcrossPatients({
    count,
    ...(since !== undefined ? { since } : {}),
    ...(after ? { after } : {}),
  });
  const base = `${ctx.baseUrl}/Patient/_history`;
  const common = `_count=${count}${sinceText !== undefined ? `&_since=${encodeURIComponent(sinceText)}` : ''}`;
  const links: BundleLink[] = [{ relation: 'self', url: `${base}?${common}${beforeText !== undefined ? `&_before=${beforeText}` : ''}` }];
  if (page.next) {
    links.push({ relation: 'next', url: `${base}?${common}&_before=${page.next.lastUpdatedMs}_${page.next.versionId}_${page.next.id}` });
  }
  const bundle = historyBundle(page.versions.map((v) => historyEntry(ctx.baseUrl, v)), 0, links);
  delete bundle.total;
  return { status: 200, resource: bundle };
}

function cursorOf(text: string): TypeHistoryCursor {
  const m = CURSOR.exec(text);
  if (!m) throw errors.badRequest(ErrorCode.INVALID_CURSOR, '_before is not a history position of this server', ['_before']);
  return { lastUpdatedMs: Number(m[1]), versionId: Number(m[2]), id: m[3]! };
}

function single(req: FhirRequest, name: string): string | undefined {
  const values = req.query[name];
  if (!values) return undefined;
  if (values.length > 1) throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `${name} may appear once`, [name]);
  return values[0];
}
