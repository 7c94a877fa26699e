import type { Patient } from 'fhir/r4.js';
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/**
 * A pragmatic subset of RFC 5322 `addr-spec`: a dot-atom local part (ASCII letters, digits and
 * ``!#$%&'*+/=?^_`{|}~-``, no leading, trailing or double dot), `@`, and a domain of at least two
 * DNS labels whose last label is alphabetic. No quoted local parts, comments or IP literals.
 */
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** RFC 5321 limits: 64 octets of local part, 254 of address. */
const MAX_EMAIL_LENGTH = 254;
const MAX_LOCAL_PART_LENGTH = 64;
/** Longer input cannot be a phone number; refuse it before the parser looks at it. */
const MAX_PHONE_INPUT_LENGTH = 64;

/** ContactPoint systems whose value is a telephone number (https://hl7.org/fhir/R4/valueset-contact-point-system.html). */
export const PHONE_SYSTEMS: ReadonlySet<string> = new Set(['phone', 'sms', 'fax']);

/**
 * The stored and compared form of an e-mail address: trimmed and lower-cased, or `undefined` when
 * the value is not a valid address. Used for storage, uniqueness and the correlation hash.
 */
export function normalizeEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim();
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email)) return undefined;
  if (email.indexOf('@') > MAX_LOCAL_PART_LENGTH) return undefined;
  return email.toLowerCase();
}

/**
 * The E.164 form of a phone number (`+15085550123`), or `undefined` when it cannot be parsed as a
 * valid number. Without a leading `+`, the number is read as a national number of `defaultCountry`
 * (ISO 3166-1 alpha-2); with no usable default country such a number is refused. Numbers with an
 * extension are refused too: E.164 cannot carry one, and dropping it would lose data.
 */
export function normalizePhone(value: unknown, defaultCountry?: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  const input = value.trim();
  if (input.length === 0 || input.length > MAX_PHONE_INPUT_LENGTH) return undefined;
  const country = phoneCountry(defaultCountry);
  if (!input.startsWith('+') && country === undefined) return undefined;
  const phone = country === undefined ? parsePhoneNumberFromString(input) : parsePhoneNumberFromString(input, country);
  if (!phone || !phone.isValid() || phone.ext) return undefined;
  return phone.number;
}

/** The default country for national phone numbers: the country of the patient's first address. */
export function defaultPhoneCountry(patient: Pick<Patient, 'address'>): string | undefined {
  const country = patient.address?.[0]?.country;
  return typeof country === 'string' ? country.trim().toUpperCase() : undefined;
}

/**
 * Normalized, de-duplicated emails and E.164 phones of a patient — the keys of `UNIQUE_CONTACTS`
 * and of the correlation hash (SPEC §5, §7). Values that do not normalize are left out.
 */
export function contactKeys(patient: Pick<Patient, 'telecom' | 'address'>): { emails: string[]; phones: string[] } {
  const emails = new Set<string>();
  const phones = new Set<string>();
  const country = defaultPhoneCountry(patient);
  for (const contact of patient.telecom ?? []) {
    if (contact.system === 'email') {
      const email = normalizeEmail(contact.value);
      if (email) emails.add(email);
    } else if (contact.system !== undefined && PHONE_SYSTEMS.has(contact.system)) {
      const phone = normalizePhone(contact.value, country);
      if (phone) phones.add(phone);
    }
  }
  return { emails: [...emails], phones: [...phones] };
}

function phoneCountry(country: string | undefined): CountryCode | undefined {
  if (country === undefined) return undefined;
  const code = country.trim().toUpperCase();
  return isSupportedCountry(code) ? code : undefined;
}
