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
 * Applies `_summary` and `_elements` to one resource and tags it SUBSETTED when anything was left
 * out. `_elements` wins over `_summary` when both are given.
 */
export function subsetResource(resource: Resource, summary?: SearchSummary, elements?: string[]): Resource {
  let keep: ((key: string) => boolean) | undefined;
  if (elements?.length) {
    const wanted = new Set(elements);
    keep = (key) => ALWAYS.has(key) || wanted.has(key);
  } else if (summary === 'true') {
    keep = (key) => ALWAYS.has(key) || PATIENT_SUMMARY.has(key);
  } else if (summary === 'text') {
    keep = (key) => ALWAYS.has(key) || key === 'text';
  } else if (summary === 'data') {
    keep = (key) => key !== 'text';
  }
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
