import { createHmac } from 'node:crypto';
import type { Patient } from 'fhir/r4.js';
import { contactKeys } from '../patient/validation/normalize-contacts.js';

/**
 * Correlation hashes of a patient (SPEC §7): HMAC-SHA256 keyed by `CORRELATION_SECRET` over each
 * normalized email (lower-case) and E.164 phone, the same normalization as `UNIQUE_CONTACTS`. The
 * input is prefixed by its kind, so an email and a phone never collide. Hex digests; the values
 * themselves are never stored, logged or put in an event.
 */
export function correlationHashes(patient: Pick<Patient, 'telecom' | 'address'>, secret: string): string[] {
  const { emails, phones } = contactKeys(patient);
  const hash = (value: string) => createHmac('sha256', secret).update(value).digest('hex');
  return [...emails.map((e) => hash(`email:${e}`)), ...phones.map((p) => hash(`phone:${p}`))];
}
