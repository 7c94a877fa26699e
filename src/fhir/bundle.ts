import type { Bundle, BundleEntry, BundleLink, OperationOutcome, Resource } from 'fhir/r4.js';

/** A `searchset` Bundle (https://hl7.org/fhir/R4/bundle.html#searchset). */
export function searchsetBundle(options: {
  entries: { fullUrl: string; resource: Resource; mode?: 'match' | 'include' | 'outcome' }[];
  total?: number;
  links: BundleLink[];
  outcome?: OperationOutcome;
}): Bundle {
  const entry: BundleEntry[] = options.entries.map((e) => ({
    fullUrl: e.fullUrl,
    resource: e.resource,
    search: { mode: e.mode ?? 'match' },
  }));
  if (options.outcome) entry.push({ resource: options.outcome, search: { mode: 'outcome' } });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(options.total !== undefined ? { total: options.total } : {}),
    link: options.links,
    entry,
  };
}

/**
 * {@link searchsetBundle} as JSON text, each match's resource inserted as the JSON text it already
 * is (stored JSON is served without being parsed and re-serialized). Same shape, same key order.
 */
export function searchsetJson(options: {
  entries: { fullUrl: string; json: string }[];
  total?: number;
  links: BundleLink[];
  outcome?: OperationOutcome;
}): string {
  const { entry: outcomeEntries = [], ...head } = searchsetBundle({ ...options, entries: [] });
  const entries = [
    ...options.entries.map((e) => `{"fullUrl":${JSON.stringify(e.fullUrl)},"resource":${e.json},"search":{"mode":"match"}}`),
    ...outcomeEntries.map((e) => JSON.stringify(e)),
  ];
  return `${JSON.stringify(head).slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

/** One entry of a `history` Bundle (https://hl7.org/fhir/R4/http.html#history). */
export interface HistoryEntry {
  fullUrl: string;
  resource?: Resource;
  method: 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  status: string;
  etag: string;
  lastModified: string;
}

/** A `history` Bundle, newest version first; `total` only when it was counted. */
export function historyBundle(entries: HistoryEntry[], links: BundleLink[], total?: number): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    ...(total !== undefined ? { total } : {}),
    link: links,
    entry: entries.map((e) => ({
      fullUrl: e.fullUrl,
      ...(e.resource ? { resource: e.resource } : {}),
      request: { method: e.method, url: e.url },
      response: { status: e.status, etag: e.etag, lastModified: e.lastModified },
    })),
  };
}
