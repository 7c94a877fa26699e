import type { Database } from 'better-sqlite3';
import { assemblePage, totalOfUnfilledFirstPage } from '../../fhir/search/page.js';
import type { SearchRequest } from '../../fhir/search/types.js';
import type { SearchPage } from '../port.js';
import { compileSqliteSearch, FILTER_DRIVEN_MAX_MATCHES } from './compile-search.js';
import { guarded } from './driver-errors.js';
import { prepared } from './prepared.js';

interface PageRow {
  resource: string;
  id: string;
  version_id: number;
  [key: `k${number}`]: string | number | null;
}

/**
 * Runs a neutral search on SQLite and returns one keyset page (no OFFSET: the cost of page N is
 * that of page 1). `total` is a COUNT over the same filter when `_total=accurate` (the default),
 * unless a first page that is not full already holds every match; a
 * page sorted on another column than `id` is driven by the filter or by the sort index depending on
 * that count (or a count capped at {@link FILTER_DRIVEN_MAX_MATCHES}).
 * https://hl7.org/fhir/R4/search.html
 */
export function searchSqlite(db: Database, request: SearchRequest): SearchPage {
  return guarded(db, () => {
    const compiled = compileSqliteSearch(request);
    const accurate = request.total === 'accurate';
    const count = () => (prepared(db, compiled.count.sql).get(...compiled.count.params) as { n: number }).n;
    if (request.count === 0) return accurate ? { matches: [], total: count() } : { matches: [] };
    let total: number | undefined;
    let page = compiled.page;
    if (compiled.choice) {
      const { byFilter, bySort, capped } = compiled.choice;
      const matches = accurate ? (total = count()) : (prepared(db, capped.sql).get(...capped.params) as { n: number }).n;
      page = matches <= FILTER_DRIVEN_MAX_MATCHES ? byFilter : bySort;
    }
    const rows = prepared(db, page.sql).all(...page.params) as PageRow[];
    // An identifier lookup pays one query: its first page is not full, so it holds every match.
    if (accurate && total === undefined) total = totalOfUnfilledFirstPage(request, rows.length) ?? count();
    return assemblePage(
      rows.map((row) => ({
        match: { id: row.id, versionId: String(row.version_id), json: row.resource },
        keys: compiled.order.map((_, i) => row[`k${i}`] ?? null),
      })),
      request,
      total,
    );
  });
}
