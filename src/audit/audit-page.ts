import type { AuditSearchPage, AuditSearchRequest, StoredAudit } from './audit-port.js';

/**
 * Turns up to `count + 1` links fetched in walking order (reversed for `previous`) into a page
 * with keyset positions `[recordedMs, seq]`; the extra link only tells whether another page exists.
 * Shared by both engines so paging behaves alike (https://hl7.org/fhir/R4/http.html#paging).
 */
export function auditPageOf(links: StoredAudit[], request: AuditSearchRequest, total: number | undefined): AuditSearchPage {
  const backwards = request.cursor?.direction === 'previous';
  const more = links.length > request.count;
  const kept = links.slice(0, request.count);
  if (backwards) kept.reverse();
  const page: AuditSearchPage = { events: kept, ...(total !== undefined ? { total } : {}) };
  const first = kept[0];
  const last = kept[kept.length - 1];
  if (!first || !last) return page;
  const at = (link: StoredAudit): [number, number] => [Date.parse(link.resource.recorded), link.seq];
  if (backwards) {
    if (more) page.previous = at(first);
    page.next = at(last);
  } else {
    if (more) page.next = at(last);
    if (request.cursor) page.previous = at(first);
  }
  return page;
}
