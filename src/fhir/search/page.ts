import type { SearchCursor, SearchMatch, SearchPage } from '../../store/port.js';
import type { SearchRequest } from './types.js';

/** One fetched row: the match and its keyset values (one per key of `keysetOrder`). */
export interface KeysetRow {
  match: SearchMatch;
  keys: (string | number | null)[];
}

/**
 * The total a page already tells, without a count: a first page (no cursor) that is not full holds
 * every match. `undefined` when the engine must count. Shared so both engines skip the same counts.
 */
export function totalOfUnfilledFirstPage(request: SearchRequest, fetched: number): number | undefined {
  return !request.cursor && fetched <= request.count ? fetched : undefined;
}

/**
 * Turns up to `count + 1` rows, fetched in execution order (reversed for `previous`), into a
 * {@link SearchPage} with `next`/`previous` keyset positions. The extra row only tells whether
 * another page exists in the walking direction. Shared by both engines so paging behaves alike.
 * https://hl7.org/fhir/R4/http.html#paging
 */
export function assemblePage(rows: KeysetRow[], request: SearchRequest, total: number | undefined): SearchPage {
  const backwards = request.cursor?.direction === 'previous';
  const more = rows.length > request.count;
  const kept = rows.slice(0, request.count);
  if (backwards) kept.reverse();
  const first = kept[0];
  const last = kept[kept.length - 1];
  const at = (row: KeysetRow, direction: SearchCursor['direction']): SearchCursor => ({ after: row.keys, direction });
  const page: SearchPage = { matches: kept.map((r) => r.match) };
  if (total !== undefined) page.total = total;
  if (!first || !last) return page;
  if (backwards) {
    if (more) page.previous = at(first, 'previous');
    page.next = at(last, 'next');
  } else {
    if (more) page.next = at(last, 'next');
    if (request.cursor) page.previous = at(first, 'previous');
  }
  return page;
}
