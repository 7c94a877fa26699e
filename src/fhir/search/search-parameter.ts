/**
 * The definition of one search parameter, after the R4 SearchParameter resource
 * (https://hl7.org/fhir/R4/searchparameter.html), reduced to what this server needs. A resource's
 * parameter table (e.g. `patient/search-parameters.ts`) drives both the parser (what a query may
 * say) and the index extractor (what is stored at write time).
 */
export interface SearchParameterDefinition {
  /** The parameter name used in the query, e.g. `family`, `address-city`, `_id`. */
  code: string;
  type: SearchParamType;
  /**
   * Where the values are, as dotted element paths from the resource root (a tiny subset of
   * FHIRPath): `name.given`, `telecom[system=email]` (keep array elements whose `system` is
   * `email`), `deceasedBoolean`. Arrays are walked implicitly.
   */
  paths: readonly string[];
  /** Modifiers the parameter accepts besides `missing` (always accepted). */
  modifiers: readonly SearchModifier[];
  /** One line for the CapabilityStatement. */
  documentation: string;
  /** token: the system recorded for values that carry none (e.g. administrative-gender). */
  system?: string;
  /** token: the only codes that can ever match; other query values are refused with 400. */
  codes?: readonly string[];
  /**
   * token: normalizes a code the same way at write time and at query time (e.g. E.164); `country`
   * is the resource's default phone country at write time, absent at query time.
   */
  normalizeCode?: (code: string, system: string | undefined, country?: string) => string;
  /**
   * token: a value counts as code `true` when present and not `false`, e.g. R4 `deceased`
   * (`Patient.deceased.exists() and Patient.deceased != false`).
   */
  presence?: boolean;
  /** token: the code indexed when no path yields a value (e.g. `deceased` → `false`). */
  whenAbsent?: string;
  /**
   * At most one index entry per resource (e.g. `birthdate`, `gender`): repeated AND conditions on the
   * parameter may then be tested on the same entry, one index probe instead of an intersection.
   */
  singleValued?: boolean;
  /** reference: resource types a reference may point to (for `id`-only values and `:Type`). */
  targets?: readonly string[];
}

/** https://hl7.org/fhir/R4/search.html#ptypes (the four types the Patient parameters use). */
export const SearchParamType = {
  string: 'string',
  token: 'token',
  date: 'date',
  reference: 'reference',
} as const;
export type SearchParamType = (typeof SearchParamType)[keyof typeof SearchParamType];

/** https://hl7.org/fhir/R4/search.html#modifiers (the ones this server implements). */
export const SearchModifier = {
  missing: 'missing',
  exact: 'exact',
  contains: 'contains',
  text: 'text',
  not: 'not',
} as const;
export type SearchModifier = (typeof SearchModifier)[keyof typeof SearchModifier];
