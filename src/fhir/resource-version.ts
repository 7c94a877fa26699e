import type { FhirResponse } from './request.js';

/** The version triple of a stored resource, used for `ETag`, `Last-Modified` and `Location`. */
export function versionOf(resource: { id?: string; meta?: { versionId?: string; lastUpdated?: string } }): NonNullable<FhirResponse['version']> {
  return { id: resource.id ?? '', versionId: resource.meta?.versionId ?? '', lastUpdated: resource.meta?.lastUpdated ?? '' };
}
