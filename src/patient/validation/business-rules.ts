import type { CodeableConcept, HumanName, Patient } from 'fhir/r4.js';
import { parse as parseBcp47 } from 'bcp-47';
import { SERVER_MANAGED_EXTENSION_URLS } from '../extensions.js';
import { PHONE_SYSTEMS, defaultPhoneCountry, normalizeEmail, normalizePhone } from './normalize-contacts.js';
import { ruleViolation, serverManagedViolation, type RuleContext } from './rule-context.js';

/**
 * Unicode letters and combining marks, spaces, hyphens (`-`, U+2010), apostrophes (`'`, U+2019) and
 * periods (SPEC §5): O'Brien, Jean-Luc, Jr., Ñúñez pass; digits and other symbols do not.
 */
const NAME_PART = /^[\p{L}\p{M} \-\u2010'\u2019.]+$/u;
const HAS_LETTER = /\p{L}/u;
const BCP47_SYSTEM = 'urn:ietf:bcp:47';

/**
 * Server-managed content (SPEC §5, §7): the server's own extensions (top level `extension` and
 * `modifierExtension`) are refused on create and update; `meta.versionId` is refused on create,
 * where no version exists yet (on update the handler replaces it). `id` and `meta.lastUpdated` are
 * simply overwritten by the handler, as https://hl7.org/fhir/R4/http.html#create prescribes for `id`.
 */
export function applyServerManagedRules(draft: Patient, ctx: RuleContext): void {
  for (const field of ['extension', 'modifierExtension'] as const) {
    draft[field]?.forEach((extension, i) => {
      if (SERVER_MANAGED_EXTENSION_URLS.has(extension.url)) {
        ctx.problems.push(serverManagedViolation('This extension is managed by the server and cannot be sent by a client', `Patient.${field}[${i}]`));
      }
    });
  }
  if (ctx.mode === 'create' && draft.meta?.versionId !== undefined) {
    ctx.problems.push(serverManagedViolation('meta.versionId is assigned by the server and cannot be sent on create', 'Patient.meta.versionId'));
  }
}

/**
 * Trims, whitespace-collapses and NFC-normalizes every part of every `Patient.name`
 * (https://hl7.org/fhir/R4/datatypes.html#HumanName) and checks its characters.
 */
export function applyNameRules(draft: Patient, ctx: RuleContext): void {
  draft.name?.forEach((name, i) => {
    const path = `Patient.name[${i}]`;
    if (name.text !== undefined) name.text = checkedNamePart(name.text, `${path}.text`, ctx);
    if (name.family !== undefined) name.family = checkedNamePart(name.family, `${path}.family`, ctx);
    for (const field of ['given', 'prefix', 'suffix'] as const satisfies readonly (keyof HumanName)[]) {
      const parts = name[field];
      if (parts) name[field] = parts.map((part, j) => checkedNamePart(part, `${path}.${field}[${j}]`, ctx));
    }
  });
}

/** The normalized form of one name part: trimmed, inner whitespace collapsed to one space, NFC. */
export function normalizeNamePart(value: string): string {
  return value.normalize('NFC').trim().replace(/\s+/gu, ' ');
}

function checkedNamePart(value: string, expression: string, ctx: RuleContext): string {
  // FHIR arrays of primitives may hold null (with a `_given` sibling); the schema decides on those.
  if (typeof value !== 'string') return value;
  const part = normalizeNamePart(value);
  if (part === '') {
    ctx.problems.push(ruleViolation('Name part must not be blank', expression));
  } else if (!NAME_PART.test(part) || !HAS_LETTER.test(part)) {
    ctx.problems.push(
      ruleViolation('Name part may contain only letters, marks, spaces, hyphens, apostrophes and periods', expression),
    );
  }
  return part;
}

/**
 * Telecom rules (https://hl7.org/fhir/R4/datatypes.html#ContactPoint): an `email` must be a valid
 * address and is stored lower-case; a `phone`, `sms` or `fax` must be a valid number and is stored
 * as E.164. National numbers use the country of the first address (run the address rules first).
 */
export function applyTelecomRules(draft: Patient, ctx: RuleContext): void {
  const country = defaultPhoneCountry(draft);
  draft.telecom?.forEach((contact, i) => {
    if (typeof contact.value !== 'string') return;
    const expression = `Patient.telecom[${i}].value`;
    if (contact.system === 'email') {
      const email = normalizeEmail(contact.value);
      if (email === undefined) ctx.problems.push(ruleViolation('E-mail address is not valid', expression));
      else contact.value = email;
    } else if (contact.system !== undefined && PHONE_SYSTEMS.has(contact.system)) {
      const phone = normalizePhone(contact.value, country);
      if (phone !== undefined) contact.value = phone;
      else if (country === undefined && !contact.value.trim().startsWith('+')) {
        ctx.problems.push(
          ruleViolation('Phone number must be international (+country code) when the first address has no country', expression),
        );
      } else {
        ctx.problems.push(ruleViolation('Phone number is not a valid number (extensions are not supported)', expression));
      }
    }
  });
}

/**
 * Language rules: `Patient.communication[i].language` codings of system `urn:ietf:bcp:47` (or no
 * system) and `Patient.language` must be valid BCP 47 tags
 * (https://hl7.org/fhir/R4/valueset-languages.html).
 */
export function applyLanguageRules(draft: Patient, ctx: RuleContext): void {
  if (draft.language !== undefined && !isBcp47(draft.language)) {
    ctx.problems.push(ruleViolation('language must be a valid BCP 47 tag', 'Patient.language'));
  }
  draft.communication?.forEach((communication, i) => {
    checkLanguageConcept(communication.language, `Patient.communication[${i}].language`, ctx);
  });
}

/** Whether `tag` is a well-formed BCP 47 language tag (RFC 5646). */
export function isBcp47(tag: string): boolean {
  const schema = parseBcp47(tag);
  return Boolean(schema.language || schema.irregular || schema.regular || schema.privateuse.length > 0);
}

function checkLanguageConcept(concept: CodeableConcept | undefined, path: string, ctx: RuleContext): void {
  concept?.coding?.forEach((coding, j) => {
    if (coding.code === undefined || (coding.system !== undefined && coding.system !== BCP47_SYSTEM)) return;
    if (!isBcp47(coding.code)) {
      ctx.problems.push(ruleViolation('Language code must be a valid BCP 47 tag', `${path}.coding[${j}].code`));
    }
  });
}
