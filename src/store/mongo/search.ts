import type { Patient } from 'fhir/r4.js';
import type { Model } from 'mongoose';
import { assemblePage, totalOfUnfilledFirstPage } from '../../fhir/search/page.js';
import type { SearchRequest } from '../../fhir/search/types.js';
import type { SearchMatch, SearchPage } from '../port.js';
import { compileMongoSearch, fieldValue, SORT_FIELDS, type MongoFilter } from './compile-search.js';
import { toOutcomeError } from './driver-errors.js';

/** The two reads a search needs, so the same page logic runs on the driver and on mingo (tests). */
export interface MongoSearchReader {
  find(filter: MongoFilter, sort: Record<string, 1 | -1>, limit: number): Promise<unknown[]>;
  count(filter: MongoFilter): Promise<number>;
}

/** Runs a compiled search through `reader` and assembles one keyset page. */
export async function runMongoSearch(reader: MongoSearchReader, request: SearchRequest): Promise<SearchPage> {
  const compiled = compileMongoSearch(request);
  const accurate = request.total === 'accurate';
  if (request.count === 0) return accurate ? { matches: [], total: await reader.count(compiled.filter) } : { matches: [] };
  const docs = await reader.find(compiled.pageFilter, compiled.sort, compiled.limit);
  const total = accurate ? (totalOfUnfilledFirstPage(request, docs.length) ?? (await reader.count(compiled.filter))) : undefined;
  return assemblePage(
    docs.map((doc) => ({
      match: matchOf((doc as { resource: Patient }).resource),
      keys: compiled.order.map((k) => fieldValue(doc, SORT_FIELDS[k.field])),
    })),
    request,
    total,
  );
}

/** A stored document's resource as a {@link SearchMatch} (BSON has no JSON text to pass through). */
function matchOf(resource: Patient): SearchMatch {
  return { id: resource.id!, versionId: resource.meta!.versionId!, json: JSON.stringify(resource) };
}

/**
 * Runs a neutral search on MongoDB (`patients` collection) and returns one keyset page; every
 * filter leads with an indexed field (`ix.param` + value field, or `state` + sort field).
 * https://hl7.org/fhir/R4/search.html
 */
export async function searchMongo(patients: Model<any>, request: SearchRequest): Promise<SearchPage> {
  const projection = { resource: 1, lastUpdatedMs: 1, sort: 1 };
  try {
    return await runMongoSearch(
      {
        find: (filter, sort, limit) => patients.find(filter, projection).sort(sort).limit(limit).lean().exec() as Promise<unknown[]>,
        count: (filter) => patients.countDocuments(filter).exec(),
      },
      request,
    );
  } catch (err) {
    throw toOutcomeError(err);
  }
}
