import { errors, ErrorCode } from './outcome.js';

/** `W/"3"` for version 3 (https://hl7.org/fhir/R4/http.html#versioning). */
export function etagFor(versionId: string): string {
  return `W/"${versionId}"`;
}

/**
 * Reads the version out of an `If-Match` / `If-None-Match` value: `W/"3"`, `"3"` (weak or strong are
 * treated alike). A garbled value is a client error: 400 INVALID_HEADER.
 */
export function versionFromEtag(header: string, name = 'If-Match'): string {
  const m = /^\s*(?:W\/)?"([A-Za-z0-9\-.]{1,64})"\s*$/.exec(header);
  if (!m) throw errors.badRequest(ErrorCode.INVALID_HEADER, `${name} must be an ETag such as W/"1"`);
  return m[1]!;
}
