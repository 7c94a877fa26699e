import type { SearchParameterDefinition } from '../fhir/search/search-parameter.js';
import { PHONE_SYSTEMS, normalizeEmail, normalizePhone } from './validation/normalize-contacts.js';

/** Country assumed for national phone numbers in a query (stored numbers are E.164 already). */
export const QUERY_PHONE_COUNTRY = 'US';

/** E.164 when the value parses as a phone number, else the trimmed value (which then matches nothing). */
function phoneCode(code: string, _system: string | undefined, country?: string): string {
  return normalizePhone(code, country ?? QUERY_PHONE_COUNTRY) ?? code.trim();
}

function emailCode(code: string): string {
  return normalizeEmail(code) ?? code.trim().toLowerCase();
}

/** A ContactPoint value by its system; a query value without system is guessed from its shape. */
function contactCode(code: string, system: string | undefined, country?: string): string {
  if (system === 'email' || (system === undefined && code.includes('@'))) return emailCode(code);
  if ((system !== undefined && PHONE_SYSTEMS.has(system)) || (system === undefined && /^[+\d(]/.test(code.trim()))) {
    return phoneCode(code, system, country);
  }
  return code;
}

const NAME_PARTS = ['name.family', 'name.given', 'name.prefix', 'name.suffix', 'name.text'];
const ADDRESS_PARTS = [
  'address.line',
  'address.city',
  'address.district',
  'address.state',
  'address.postalCode',
  'address.country',
  'address.text',
];

/**
 * Every R4 Patient search parameter the server supports (https://hl7.org/fhir/R4/patient.html#search,
 * SPEC §6). This table drives the query parser, the index extractor and the CapabilityStatement.
 * Choices: `email`/`phone`/`telecom` entries carry the ContactPoint `system` as token system and the
 * normalized value (lower-case e-mail, E.164 phone) as code; `deceased` is indexed `false` when
 * absent so `deceased=false` finds the living; string parameters index each name/address part.
 * `singleValued` marks the parameters a Patient has at most one value of (their repeated AND
 * conditions are tested on one index entry).
 */
export const patientSearchParameters: readonly SearchParameterDefinition[] = [
  { code: '_id', type: 'token', paths: ['id'], singleValued: true, modifiers: ['not'], documentation: 'Logical id of the patient' },
  { code: '_lastUpdated', type: 'date', paths: ['meta.lastUpdated'], singleValued: true, modifiers: [], documentation: 'When the current version was stored' },
  { code: 'identifier', type: 'token', paths: ['identifier'], modifiers: ['not', 'text'], documentation: 'A patient identifier (system|value); :text searches the identifier type text' },
  { code: 'name', type: 'string', paths: NAME_PARTS, modifiers: ['exact', 'contains'], documentation: 'Any part of a name: family, given, prefix, suffix or text' },
  { code: 'family', type: 'string', paths: ['name.family'], modifiers: ['exact', 'contains'], documentation: 'A family name' },
  { code: 'given', type: 'string', paths: ['name.given'], modifiers: ['exact', 'contains'], documentation: 'Any given name' },
  { code: 'birthdate', type: 'date', paths: ['birthDate'], singleValued: true, modifiers: [], documentation: "The patient's date of birth" },
  {
    code: 'gender',
    type: 'token',
    paths: ['gender'],
    singleValued: true,
    modifiers: ['not', 'text'],
    system: 'http://hl7.org/fhir/administrative-gender',
    codes: ['male', 'female', 'other', 'unknown'],
    documentation: 'Administrative gender',
  },
  { code: 'email', type: 'token', paths: ['telecom[system=email]'], modifiers: ['not'], normalizeCode: contactCode, documentation: 'An e-mail address (case-insensitive)' },
  { code: 'phone', type: 'token', paths: ['telecom[system=phone]'], modifiers: ['not'], normalizeCode: contactCode, documentation: 'A phone number, compared in E.164 form' },
  { code: 'telecom', type: 'token', paths: ['telecom'], modifiers: ['not'], normalizeCode: contactCode, documentation: 'The value of any kind of contact point (system|value)' },
  { code: 'address', type: 'string', paths: ADDRESS_PARTS, modifiers: ['exact', 'contains'], documentation: 'Any part of an address: line, city, district, state, postal code, country or text' },
  { code: 'address-city', type: 'string', paths: ['address.city'], modifiers: ['exact', 'contains'], documentation: 'A city of an address' },
  { code: 'address-state', type: 'string', paths: ['address.state'], modifiers: ['exact', 'contains'], documentation: 'A state of an address' },
  { code: 'address-postalcode', type: 'string', paths: ['address.postalCode'], modifiers: ['exact', 'contains'], documentation: 'A postal code of an address' },
  { code: 'address-country', type: 'string', paths: ['address.country'], modifiers: ['exact', 'contains'], documentation: 'A country of an address' },
  {
    code: 'address-use',
    type: 'token',
    paths: ['address.use'],
    modifiers: ['not'],
    system: 'http://hl7.org/fhir/address-use',
    codes: ['home', 'work', 'temp', 'old', 'billing'],
    documentation: 'The use of an address',
  },
  { code: 'active', type: 'token', paths: ['active'], singleValued: true, modifiers: ['not'], codes: ['true', 'false'], documentation: 'Whether the patient record is in active use' },
  {
    code: 'deceased',
    type: 'token',
    paths: ['deceasedBoolean', 'deceasedDateTime'],
    modifiers: ['not'],
    codes: ['true', 'false'],
    presence: true,
    whenAbsent: 'false',
    singleValued: true,
    documentation: 'Whether the patient is deceased (true when deceasedBoolean is true or deceasedDateTime is present)',
  },
  { code: 'death-date', type: 'date', paths: ['deceasedDateTime'], singleValued: true, modifiers: [], documentation: 'Date of death' },
  {
    code: 'general-practitioner',
    type: 'reference',
    paths: ['generalPractitioner'],
    modifiers: [],
    targets: ['Organization', 'Practitioner', 'PractitionerRole'],
    documentation: "The patient's nominated general practitioner (Type/id or id)",
  },
  { code: 'organization', type: 'reference', paths: ['managingOrganization'], modifiers: [], targets: ['Organization'], documentation: 'The organization that is the custodian of the record' },
  { code: 'link', type: 'reference', paths: ['link.other'], modifiers: [], targets: ['Patient', 'RelatedPerson'], documentation: 'All patients linked to the given patient' },
  { code: 'language', type: 'token', paths: ['communication.language'], modifiers: ['not', 'text'], documentation: 'A language the patient may communicate in (BCP 47 code)' },
];

/** Parameters by code. */
export const patientSearchParameterByCode: ReadonlyMap<string, SearchParameterDefinition> = new Map(
  patientSearchParameters.map((d) => [d.code, d]),
);
