import type { SearchCursor } from '../../store/port.js';

/**
 * The engine-neutral, typed search request produced by the search parser
 * (https://hl7.org/fhir/R4/search.html). Each engine compiles `where` to its own query language from
 * these few primitives.
 */
export interface SearchRequest {
  /** All must hold (repeated parameters are AND). */
  where: Condition[];
  sort: SortKey[];
  /** Page size, 1..1000 (0 with `_summary=count`). */
  count: number;
  total: 'none' | 'estimate' | 'accurate';
  cursor?: SearchCursor;
  /**
   * Parameters of `where` with at most one index entry per resource (from the parameter table), so
   * engines may test their repeated AND conditions on one entry. Absent: none assumed.
   */
  singleValued?: readonly string[];
  /** Lifecycle states to include; plain searches see only `active`. */
  states: readonly ('active' | 'soft-deleted' | 'anonymized')[];
}

export type SortField = '_id' | '_lastUpdated' | 'family' | 'given' | 'birthdate' | 'gender';

export interface SortKey {
  field: SortField;
  descending: boolean;
}

/** A test on the fields of one index entry of a parameter. */
export type EntryTest =
  | { field: 'text' | 'exact' | 'system' | 'code' | 'ref'; op: 'eq'; value: string }
  | { field: 'text' | 'code' | 'system' | 'ref'; op: 'in'; values: string[] }
  | { field: 'text'; op: 'prefix'; value: string }
  | { field: 'text' | 'exact'; op: 'contains'; value: string }
  | { field: 'low' | 'high'; op: 'lt' | 'le' | 'gt' | 'ge'; value: number };

export type Condition =
  /** Some index entry of `param` satisfies every test (one element: `$elemMatch`). */
  | { kind: 'entry'; param: string; tests: EntryTest[] }
  /** `:missing=true` (no entry of `param`) or `:missing=false` (at least one). */
  | { kind: 'missing'; param: string; missing: boolean }
  | { kind: 'not'; condition: Condition }
  | { kind: 'and'; conditions: Condition[] }
  | { kind: 'or'; conditions: Condition[] };

/** What `_summary` asked for (https://hl7.org/fhir/R4/search.html#summary). */
export type SearchSummary = 'true' | 'count' | 'data' | 'text' | 'false';

/** The parser's result: the neutral request plus what only the HTTP layer needs. */
export interface ParsedSearch {
  request: SearchRequest;
  /** Names (never values) of parameters this server does not know, ignored in lenient mode. */
  unknown: string[];
  summary?: SearchSummary;
  /** `_elements`: top-level element names to keep. */
  elements?: string[];
  /** Binds cursors to this query's filters and sort (see `encodeCursor`). */
  fingerprint: string;
}
