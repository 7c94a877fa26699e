import type { Coding, Resource } from 'fhir/r4.js';
import type { SearchSummary } from './search/types.js';

/** The tag a server puts on a resource it returns in part (https://hl7.org/fhir/R4/search.html#summary). */
export const SUBSETTED: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'subsetted',
};

/** Patient elements marked `isSummary` in R4 (https://hl7.org/fhir/R4/patient.html). */
const PATIENT_SUMMARY = new Set([
  'identifier', 'active', 'name', 'telecom', 'gender', 'birthDate', 'deceasedBoolean', 'deceasedDateTime',
  'address', 'managingOrganization', 'link',
]);
/** Always kept: the resource's identity and mandatory elements. */
const ALWAYS = new Set(['resourceType', 'id', 'meta']);

/**
 * Which top-level elements `_summary` and `_elements` keep; `undefined` when they ask for the whole
 * resource (neither given, or `_summary=false`). `_elements` wins over `_summary` when both are given.
 */
function keeperOf(summary?: SearchSummary, elements?: string[]): ((key: string) => boolean) | undefined {
  if (elements?.length) {
    const wanted = new Set(elements);
    return (key) => ALWAYS.has(key) || wanted.has(key);
  }
  if (summary === 'true') return (key) => ALWAYS.has(key) || PATIENT_SUMMARY.has(key);
  if (summary === 'text') return (key) => ALWAYS.has(key) || key === 'text';
  if (summary === 'data') return (key) => key !== 'text';
  return undefined;
}

/** Whether `_summary`/`_elements` ask for part of a resource (so it must be cut, not served as stored). */
export function asksForPart(summary?: SearchSummary, elements?: string[]): boolean {
  return keeperOf(summary, elements) !== undefined;
}

/**
 * Applies `_summary` and `_elements` to one resource and tags it SUBSETTED when anything was left
 * out. `_elements` wins over `_summary` when both are given.
 */
export function subsetResource(resource: Resource, summary?: SearchSummary, elements?: string[]): Resource {
  const keep = keeperOf(summary, elements);
  if (!keep) return resource;
  const subset: Record<string, unknown> = {};
  let removed = false;
  for (const [key, value] of Object.entries(resource)) {
    if (keep(key)) subset[key] = value;
    else removed = true;
  }
  if (!removed) return resource;
  const meta = (subset.meta ?? {}) as { tag?: Coding[] };
  subset.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return subset as unknown as Resource;
}
