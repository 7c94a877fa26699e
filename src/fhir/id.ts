import { errors, ErrorCode } from './outcome.js';

/** FHIR `id` datatype: 1–64 of `[A-Za-z0-9\-.]` (https://hl7.org/fhir/R4/datatypes.html#id). */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Throws 400 INVALID_ID when a path segment is not a FHIR id. */
export function assertFhirId(value: string | undefined, what = 'id'): string {
  if (value === undefined || !FHIR_ID.test(value)) {
    throw errors.badRequest(ErrorCode.INVALID_ID, `The ${what} in the URL is not a valid FHIR id`);
  }
  return value;
}

/** A positive integer version id, as this server assigns them (1, 2, 3, …). */
export function assertVersionId(value: string | undefined): string {
  if (value === undefined || !/^[1-9][0-9]{0,15}$/.test(value)) {
    throw errors.badRequest(ErrorCode.INVALID_ID, 'The version id in the URL is not a valid version');
  }
  return value;
}
