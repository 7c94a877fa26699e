import type { Address, Patient } from 'fhir/r4.js';
import { whereAlpha2 } from 'iso-3166-1';
import { postcodeValidator } from 'postcode-validator';
import { ruleViolation, type RuleContext } from './rule-context.js';

/**
 * Countries whose postal codes are format-checked (SPEC §5 names at least these). Other countries'
 * codes are accepted as written: a wrong rule would refuse real addresses.
 */
export const POSTAL_CODE_CHECKED_COUNTRIES: ReadonlySet<string> = new Set(['US', 'CA', 'GB', 'FR', 'DE']);

/** The upper-case ISO 3166-1 alpha-2 code for `value` (any case), or `undefined` when it is none. */
export function normalizeCountry(value: string): string | undefined {
  const code = value.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code)) return undefined;
  return whereAlpha2(code) ? code : undefined;
}

/**
 * Address rules of SPEC §5 on every `Patient.address[i]` (https://hl7.org/fhir/R4/datatypes.html#Address):
 * `country` must be ISO 3166-1 alpha-2 and is stored upper-case; `postalCode` requires `country`
 * and must fit the country's format where {@link POSTAL_CODE_CHECKED_COUNTRIES} lists it.
 * Normalizes the draft in place and reports violations to `ctx.problems`.
 */
export function applyAddressRules(draft: Patient, ctx: RuleContext): void {
  draft.address?.forEach((address, i) => checkAddress(address, `Patient.address[${i}]`, ctx));
}

function checkAddress(address: Address, path: string, ctx: RuleContext): void {
  let country: string | undefined;
  if (address.country !== undefined) {
    country = normalizeCountry(address.country);
    if (country === undefined) {
      ctx.problems.push(ruleViolation('Address country must be an ISO 3166-1 alpha-2 code (e.g. US)', `${path}.country`));
    } else {
      address.country = country;
    }
  }
  if (address.postalCode === undefined) return;
  const postalCode = address.postalCode.trim().replace(/\s+/g, ' ');
  address.postalCode = postalCode;
  if (postalCode === '') {
    ctx.problems.push(ruleViolation('Address postalCode must not be blank', `${path}.postalCode`));
    return;
  }
  if (address.country === undefined) {
    ctx.problems.push(ruleViolation('Address postalCode requires a country', `${path}.country`));
    return;
  }
  if (country !== undefined && POSTAL_CODE_CHECKED_COUNTRIES.has(country) && !postcodeValidator(postalCode, country)) {
    ctx.problems.push(ruleViolation(`Address postalCode does not match the postal code format of ${country}`, `${path}.postalCode`));
  }
}
