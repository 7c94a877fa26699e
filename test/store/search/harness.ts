import { expect } from 'chai';
import { encodeCursor, CURSOR_PARAM } from '../../../src/fhir/search/cursor.js';
import { parseSearch } from '../../../src/fhir/search/parse.js';
import type { SearchRequest } from '../../../src/fhir/search/types.js';
import { patientSearchParameters } from '../../../src/patient/search-parameters.js';
import type { SearchPage } from '../../../src/store/port.js';
import { buildCases, NOW } from './cases.js';
import type { FixturePatient } from './fixture.js';
import { comparator } from './oracle.js';

export const CURSOR_KEY = 'test-cursor-key';
export type RunSearch = (request: SearchRequest) => Promise<SearchPage>;

/** URL query string → the parser's input shape (repeated keys keep every value). */
export function toQuery(q: string): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  for (const [k, v] of new URLSearchParams(q)) (out[k] ??= []).push(v);
  return out;
}

function parse(query: Record<string, string[]>) {
  return parseSearch(query, { parameters: patientSearchParameters, strict: true, cursorKey: CURSOR_KEY, now: NOW });
}

const ids = (page: SearchPage) => page.matches.map((m) => m.id);

/**
 * Walks every `next` cursor of a search (as a client following Bundle links would: each cursor is
 * encoded, sent back as `_cursor`, decoded by the parser), then every `previous` cursor back from
 * the last page. Returns the ids in order and checks totals and the backward walk on the way.
 */
export async function walkAllPages(run: RunSearch, q: string, count: number): Promise<string[]> {
  const query = { ...toQuery(q), _count: [String(count)] };
  let parsed = parse(query);
  let page = await run(parsed.request);
  const pages: string[][] = [ids(page)];
  const total = page.total;
  while (page.next) {
    expect(page.matches.length, 'a page with a next link is full').to.equal(count);
    parsed = parse({ ...query, [CURSOR_PARAM]: [encodeCursor(page.next, parsed.fingerprint, CURSOR_KEY)] });
    page = await run(parsed.request);
    expect(page.total, 'total is stable across pages').to.equal(total);
    pages.push(ids(page));
    if (pages.length > 400) throw new Error('paging does not end');
  }
  const forward = pages.flat();
  expect(total).to.equal(forward.length);
  // back again through `previous`
  const back: string[][] = [];
  while (page.previous) {
    parsed = parse({ ...query, [CURSOR_PARAM]: [encodeCursor(page.previous, parsed.fingerprint, CURSOR_KEY)] });
    page = await run(parsed.request);
    back.unshift(ids(page));
  }
  expect(back.flat(), 'previous links walk back over the same rows').to.deep.equal(pages.slice(0, -1).flat());
  return forward;
}

/** Registers the table-driven conformance suite for one way of running searches. */
export function conformanceSuite(fixture: () => FixturePatient[], run: () => RunSearch): void {
  const all = fixture();
  for (const c of buildCases(all)) {
    it(`finds exactly the oracle's patients for ${decodeURIComponent(c.q)}`, async () => {
      const sort = new URLSearchParams(c.q).get('_sort') ?? undefined;
      const expected = all
        .filter((p) => p.state === 'active' && c.expect(p.resource))
        .sort(comparator(sort))
        .map((p) => p.resource.id);
      const count = expected.length > 60 ? 37 : 7;
      const got = await walkAllPages(run(), c.q, count);
      expect(new Set(got).size, 'no duplicates').to.equal(got.length);
      expect(got).to.deep.equal(expected);
    });
  }
}
