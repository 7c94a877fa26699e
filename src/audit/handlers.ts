import type { BundleLink, Parameters } from 'fhir/r4.js';
import type { RequestContext } from '../context/request-context.js';
import { searchsetBundle } from '../fhir/bundle.js';
import { assertFhirId } from '../fhir/id.js';
import { ErrorCode, errors, operationOutcome } from '../fhir/outcome.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { CURSOR_PARAM } from '../fhir/search/cursor.js';
import type { PatientStore } from '../store/port.js';
import type { AuditSearchPage, ChainAnchor } from './audit-port.js';
import { SERVER_CANONICAL_BASE } from './build-audit-event.js';
import { auditKeysOf, servedAuditEvent } from './hash-chain.js';
import { auditCursorToken, parseAuditSearch, type ParsedAuditSearch } from './parse-audit-search.js';

/** What the AuditEvent handlers need (a subset of what `app.ts` hands every FHIR route). */
export interface AuditDeps {
  store: PatientStore;
  /** Key that signs search cursors. */
  cursorKey: string;
}

/**
 * `GET /fhir/AuditEvent/{id}` (https://hl7.org/fhir/R4/http.html#read). A patient-context token
 * reads only events about its own record; any other event answers 404, as if it did not exist.
 */
export async function readAuditEventHandler(req: FhirRequest, ctx: RequestContext, deps: AuditDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  const link = await deps.store.audit.read(id);
  if (!link) throw errors.notFound();
  const own = ctx.actor.patient;
  if (own !== undefined && !auditKeysOf(link.resource).patients.includes(`Patient/${own}`)) throw errors.notFound();
  return { status: 200, resource: servedAuditEvent(link, SERVER_CANONICAL_BASE) };
}

/**
 * `GET /fhir/AuditEvent?date=&patient=&entity=&agent=&action=&subtype=&outcome=&_sort=&_count=`
 * (https://hl7.org/fhir/R4/auditevent.html#search): newest first by default, keyset paged. A
 * patient-context token sees only the events about its own record (accounting of disclosures).
 */
export async function searchAuditEventsHandler(req: FhirRequest, ctx: RequestContext, deps: AuditDeps): Promise<FhirResponse> {
  const parsed = parseAuditSearch(req.query, {
    actor: ctx.actor,
    strict: req.headers.prefer.handling === 'strict',
    cursorKey: deps.cursorKey,
    now: ctx.clock.now(),
  });
  const page = await deps.store.audit.search(parsed.request);
  const bundle = searchsetBundle({
    entries: page.events.map((link) => ({
      fullUrl: `${ctx.baseUrl}/AuditEvent/${link.resource.id}`,
      resource: servedAuditEvent(link, SERVER_CANONICAL_BASE),
    })),
    ...(page.total !== undefined ? { total: page.total } : {}),
    links: pageLinks(`${ctx.baseUrl}/AuditEvent`, req.query, parsed, page, deps.cursorKey),
    ...(parsed.unknown.length
      ? {
          outcome: operationOutcome([
            {
              severity: 'warning',
              code: ErrorCode.UNKNOWN_PARAMETER,
              issueType: 'not-supported',
              diagnostics: `Unknown search parameter(s) ignored: ${parsed.unknown.join(', ')}`,
            },
          ]),
        }
      : {}),
  });
  return { status: 200, resource: bundle };
}

function pageLinks(base: string, query: Record<string, string[]>, parsed: ParsedAuditSearch, page: AuditSearchPage, key: string): BundleLink[] {
  const url = (cursor: string | undefined) => {
    const params = new URLSearchParams();
    for (const [name, values] of Object.entries(query)) {
      if (name !== CURSOR_PARAM) for (const value of values) params.append(name, value);
    }
    if (cursor) params.set(CURSOR_PARAM, cursor);
    const text = params.toString();
    return text ? `${base}?${text}` : base;
  };
  const links: BundleLink[] = [{ relation: 'self', url: url(query[CURSOR_PARAM]?.[0]) }];
  if (page.next) links.push({ relation: 'next', url: url(auditCursorToken(page.next, 'next', parsed.fingerprint, key)) });
  if (page.previous) links.push({ relation: 'previous', url: url(auditCursorToken(page.previous, 'previous', parsed.fingerprint, key)) });
  return links;
}

/** `anchorSeq` and `anchorHash`: both or neither (400 `INVALID_PARAMETER`). */
function anchorOf(query: Record<string, string[]>): ChainAnchor | undefined {
  const seq = query.anchorSeq;
  const hash = query.anchorHash;
  if (seq === undefined && hash === undefined) return undefined;
  if (seq?.length !== 1 || hash?.length !== 1 || !/^[1-9]\d{0,14}$/.test(seq[0]!) || !/^[0-9a-f]{64}$/.test(hash[0]!)) {
    throw errors.badRequest(
      ErrorCode.INVALID_PARAMETER,
      'anchorSeq (a positive integer) and anchorHash (64 lower-case hex digits) go together, once each',
      ['anchorSeq', 'anchorHash'],
    );
  }
  return { seq: Number(seq[0]), hash: hash[0]! };
}

/**
 * `GET /fhir/AuditEvent/$verify[?anchorSeq=&anchorHash=]`: walks the hash chain from its first link
 * and answers a Parameters resource: `result` (intact or not), `checked`, `broken`, `firstBroken`
 * (`seq`, `id`) — the first link whose hash does not match its content or its predecessor — and
 * `head` (`seq`, `hash`), the last link. A chain holds no outside secret, so cutting its newest
 * links, or rewriting and re-hashing it from some point on, leaves a chain that verifies: an
 * auditor who keeps a `head` outside the server passes it back as the anchor, and `anchor`
 * (`seq`, `status`) says whether the chain still holds it (`result` is false when it does not).
 */
export async function verifyAuditChainHandler(req: FhirRequest, _ctx: RequestContext, deps: AuditDeps): Promise<FhirResponse> {
  const anchor = anchorOf(req.query);
  const result = await deps.store.audit.verify(anchor);
  const parameters: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'result', valueBoolean: result.ok },
      { name: 'checked', valueInteger: result.checked },
      { name: 'broken', valueInteger: result.broken },
      ...(result.head
        ? [{ name: 'head', part: [{ name: 'seq', valueInteger: result.head.seq }, { name: 'hash', valueString: result.head.hash }] }]
        : []),
      ...(result.anchor
        ? [{ name: 'anchor', part: [{ name: 'seq', valueInteger: result.anchor.seq }, { name: 'status', valueCode: result.anchor.status }] }]
        : []),
      ...(result.firstBroken
        ? [
            {
              name: 'firstBroken',
              part: [
                { name: 'seq', valueInteger: result.firstBroken.seq },
                { name: 'id', valueId: result.firstBroken.id },
                { name: 'reference', valueReference: { reference: `AuditEvent/${result.firstBroken.id}` } },
              ],
            },
          ]
        : []),
    ],
  };
  return { status: 200, resource: parameters };
}
