import type { BundleEntry, BundleLink } from 'fhir/r4.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { RequestContext } from '../context/request-context.js';
import { ErrorCode, errors } from '../fhir/outcome.js';
import { CURSOR_PARAM, decodeCursor, encodeCursor } from '../fhir/search/cursor.js';
import { searchsetBundle } from '../fhir/bundle.js';
import { EXTENSION_BASE } from '../patient/extensions.js';
import type { DeletedCursor, DeletionIndexEntry } from '../store/port.js';
import type { LifecycleDeps } from './deps.js';
import { deletionInfo } from './lifecycle-extensions.js';

/** Entry extension of `$deleted` (profiles/StructureDefinition-deletion-grace.json). */
export const DELETION_GRACE_URL = `${EXTENSION_BASE}/deletion-grace`;

const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;
const STATUSES: ReadonlySet<string> = new Set(['soft-deleted', 'anonymized']);
const KNOWN = new Set(['status', '_count', CURSOR_PARAM, '_format']);

/**
 * `GET /fhir/Patient/$deleted` (SPEC §7): a `searchset` Bundle of deleted patients, newest
 * deletion first, keyset paged (`_count`, opaque `_cursor` in the `next` link). `status` is
 * `soft-deleted` (default), `anonymized`, or both comma-separated. Each entry carries the current
 * version and a `deletion-grace` extension on `Bundle.entry` with `graceExpiresAt` (instant) and
 * `secondsRemaining` (integer, 0 once passed) — `search.score` is a relevance, not a duration.
 */
export async function deletedListHandler(req: FhirRequest, ctx: RequestContext, deps: LifecycleDeps): Promise<FhirResponse> {
  for (const name of Object.keys(req.query)) {
    if (!KNOWN.has(name) && req.headers.prefer.handling === 'strict') {
      throw errors.badRequest(ErrorCode.UNKNOWN_PARAMETER, `Unknown parameter for $deleted: ${name.slice(0, 40)}`);
    }
  }
  const statusText = single(req, 'status') ?? 'soft-deleted';
  const statuses = [...new Set(statusText.split(','))].sort() as DeletionIndexEntry['status'][];
  if (statuses.some((s) => !STATUSES.has(s))) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, 'status must be soft-deleted, anonymized or both', ['status']);
  }
  const countText = single(req, '_count');
  const count = countText === undefined ? DEFAULT_COUNT : Number(countText);
  if (countText !== undefined && (!/^\d+$/.test(countText) || count < 1 || count > MAX_COUNT)) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `_count must be an integer from 1 to ${MAX_COUNT}`, ['_count']);
  }
  const fingerprint = `deleted:${statuses.join(',')}`;
  const token = single(req, CURSOR_PARAM);
  const after = token === undefined ? undefined : cursorFrom(decodeCursor(token, fingerprint, deps.cursorKey, 2).after);

  const page = await deps.store.listDeleted({ statuses, count, ...(after ? { after } : {}) });
  const nowMs = ctx.clock.now().getTime();
  const base = `${ctx.baseUrl}/Patient/$deleted`;
  const url = (cursor?: string) => {
    const params = new URLSearchParams({ status: statuses.join(','), _count: String(count) });
    if (cursor) params.set(CURSOR_PARAM, cursor);
    return `${base}?${params.toString()}`;
  };
  const links: BundleLink[] = [{ relation: 'self', url: url(token) }];
  if (page.next) {
    links.push({ relation: 'next', url: url(encodeCursor({ after: [page.next.softDeletedAtMs, page.next.id], direction: 'next' }, fingerprint, deps.cursorKey)) });
  }
  const bundle = searchsetBundle({
    entries: page.patients.map((p) => ({ fullUrl: `${ctx.baseUrl}/Patient/${p.resource.id}`, resource: p.resource })),
    total: page.total,
    links,
  });
  bundle.entry = (bundle.entry ?? []).map((entry, i): BundleEntry => {
    const resource = page.patients[i]?.resource;
    const grace = resource ? deletionInfo(resource)?.graceExpiresAt : undefined;
    if (!grace) return entry;
    const remaining = Math.max(0, Math.ceil((Date.parse(grace) - nowMs) / 1000));
    return {
      extension: [
        {
          url: DELETION_GRACE_URL,
          extension: [
            { url: 'graceExpiresAt', valueInstant: grace },
            { url: 'secondsRemaining', valueInteger: remaining },
          ],
        },
      ],
      ...entry,
    };
  });
  return { status: 200, resource: bundle };
}

function cursorFrom(after: (string | number | null)[]): DeletedCursor {
  const [ms, id] = after;
  if (typeof ms !== 'number' || typeof id !== 'string') {
    throw errors.badRequest(ErrorCode.INVALID_CURSOR, 'The paging cursor is invalid', [CURSOR_PARAM]);
  }
  return { softDeletedAtMs: ms, id };
}

function single(req: FhirRequest, name: string): string | undefined {
  const values = req.query[name];
  if (!values) return undefined;
  if (values.length > 1) throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `${name} may appear once`, [name]);
  return values[0];
}
