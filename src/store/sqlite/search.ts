import type { Database } from 'better-sqlite3';
import type { SearchRequest } from '../../fhir/search/types.js';
import type { SearchPage } from '../port.js';
import { errors } from '../../fhir/outcome.js';

/** Runs a neutral search on SQLite. (Placeholder until the search compiler lands.) */
export function searchSqlite(_db: Database, _request: SearchRequest): SearchPage {
  throw errors.internal();
}
