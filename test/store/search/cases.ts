import type { Patient } from 'fhir/r4.js';
import type { FixturePatient } from './fixture.js';
import { addressParts, cities, contains, families, fold, givens, nameParts, period, refs, startsWith, telecoms } from './oracle.js';

/** "Now" of every conformance run (for `ap`). */
export const NOW = new Date('2026-01-01T00:00:00.000Z');

/** One conformance case: a query string and the oracle's predicate over a stored resource. */
export interface SearchCase {
  q: string;
  expect: (p: Patient) => boolean;
}

type Range = [number, number];
const within = (s: Range, t: Range) => s[0] <= t[0] && t[1] <= s[1];
const overlaps = (a: Range, b: Range) => a[0] < b[1] && b[0] < a[1];
const above = (s: Range): Range => [s[1], Infinity];
const below = (s: Range): Range => [-Infinity, s[0]];

/** The R4 prefix table, phrased as in https://hl7.org/fhir/R4/search.html#prefix. */
function dateMatch(prefix: string, q: string, value: string | undefined): boolean {
  if (!value) return false;
  const s = period(q);
  const t = period(value);
  switch (prefix) {
    case 'eq': return within(s, t);
    case 'ne': return !within(s, t);
    case 'gt': return overlaps(above(s), t);
    case 'lt': return overlaps(below(s), t);
    case 'ge': return overlaps(above(s), t) || within(s, t);
    case 'le': return overlaps(below(s), t) || within(s, t);
    case 'sa': return !overlaps(s, t) && within(above(s), t);
    case 'eb': return !overlaps(s, t) && within(below(s), t);
    case 'ap': {
      const margin = Math.max(86_400_000, Math.round(Math.abs(NOW.getTime() - s[0]) * 0.1));
      return overlaps([s[0] - margin, s[1] + margin], t);
    }
    default: throw new Error(prefix);
  }
}

const ssnOf = (p: Patient) => p.identifier?.find((i) => i.system === 'http://hl7.org/fhir/sid/us-ssn')?.value;
const langs = (p: Patient) => (p.communication ?? []).flatMap((c) => c.language.coding ?? []);
const deceased = (p: Patient) => p.deceasedBoolean === true || p.deceasedDateTime !== undefined;

/** At least 60 cases over the fixture; values to look for are taken from the data itself. */
export function buildCases(all: FixturePatient[]): SearchCase[] {
  const x = all[5]!.resource;
  const ssn = ssnOf(x)!;
  const withEmail = all.find((p) => telecoms(p.resource, 'email').length > 0)!.resource;
  const email = telecoms(withEmail, 'email')[0]!;
  const phone = telecoms(all[0]!.resource, 'phone')[0]!; // +1AAANNNNNNN
  const national = `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`;
  const [id1, id2] = [all[10]!.resource.id, all[20]!.resource.id];
  const linked = all[30]!.resource.link![0]!.other.reference!;
  const exactGiven = x.name![0]!.given![0]!;
  return [
    // string
    { q: 'family=Mu', expect: (p) => startsWith(families(p), 'mu') },
    { q: 'family=müller', expect: (p) => startsWith(families(p), 'muller') },
    { q: 'family=NUNEZ', expect: (p) => startsWith(families(p), 'nunez') },
    { q: 'family:exact=Müller', expect: (p) => families(p).includes('Müller') },
    { q: 'family:exact=muller', expect: (p) => families(p).includes('muller') },
    { q: 'family:contains=ill', expect: (p) => contains(families(p), 'ill') },
    { q: 'given=jo', expect: (p) => startsWith(givens(p), 'jo') },
    { q: 'given=Joan', expect: (p) => startsWith(givens(p), 'joan') },
    { q: 'given:contains=AN', expect: (p) => contains(givens(p), 'an') },
    { q: `given:exact=${encodeURIComponent(exactGiven)}`, expect: (p) => givens(p).includes(exactGiven) },
    { q: 'name=mr', expect: (p) => startsWith(nameParts(p), 'mr') },
    { q: 'name=ana,jose', expect: (p) => startsWith(nameParts(p), 'ana') || startsWith(nameParts(p), 'jose') },
    { q: 'name:contains=ez', expect: (p) => contains(nameParts(p), 'ez') },
    { q: 'family=M&given=J', expect: (p) => startsWith(families(p), 'm') && startsWith(givens(p), 'j') },
    { q: 'family=zzzz', expect: () => false },
    { q: 'family=a\\,b', expect: (p) => startsWith(families(p), 'a,b') },
    { q: 'address=massachusetts', expect: (p) => startsWith(addressParts(p), 'massachusetts') },
    { q: 'address:contains=street', expect: (p) => contains(addressParts(p), 'street') },
    { q: 'address-city=Bos', expect: (p) => startsWith(cities(p), 'bos') },
    { q: 'address-city:exact=Boston', expect: (p) => cities(p).includes('Boston') },
    { q: 'address-state=mass', expect: (p) => startsWith((p.address ?? []).map((a) => a.state ?? ''), 'mass') },
    { q: 'address-postalcode=021', expect: (p) => startsWith((p.address ?? []).map((a) => a.postalCode ?? ''), '021') },
    { q: 'address-postalcode:missing=true', expect: (p) => !(p.address ?? []).some((a) => a.postalCode) },
    { q: 'address-country=us', expect: (p) => startsWith((p.address ?? []).map((a) => a.country ?? ''), 'us') },
    // token
    { q: 'gender=male', expect: (p) => p.gender === 'male' },
    { q: 'gender=female,other', expect: (p) => p.gender === 'female' || p.gender === 'other' },
    { q: 'gender:not=male', expect: (p) => p.gender !== 'male' },
    { q: 'gender=http://hl7.org/fhir/administrative-gender|female', expect: (p) => p.gender === 'female' },
    { q: 'gender:text=fem', expect: (p) => p.gender === 'female' },
    { q: `identifier=${ssn}`, expect: (p) => (p.identifier ?? []).some((i) => i.value === ssn) },
    { q: `identifier=http://hl7.org/fhir/sid/us-ssn|${ssn}`, expect: (p) => ssnOf(p) === ssn },
    { q: 'identifier=http://hl7.org/fhir/sid/us-ssn|', expect: (p) => ssnOf(p) !== undefined },
    { q: `identifier=|${ssn}`, expect: (p) => (p.identifier ?? []).some((i) => !i.system && i.value === ssn) },
    { q: 'identifier:text=social', expect: (p) => (p.identifier ?? []).some((i) => fold(i.type?.text ?? '').startsWith('social')) },
    { q: `identifier:not=http://hl7.org/fhir/sid/us-ssn|${ssn}`, expect: (p) => ssnOf(p) !== ssn },
    { q: `email=${encodeURIComponent(email.toUpperCase())}`, expect: (p) => telecoms(p, 'email').includes(email) },
    { q: 'email:missing=true', expect: (p) => telecoms(p, 'email').length === 0 },
    { q: 'email:missing=false', expect: (p) => telecoms(p, 'email').length > 0 },
    { q: `phone=${encodeURIComponent(national)}`, expect: (p) => telecoms(p, 'phone').includes(phone) },
    { q: `phone=${encodeURIComponent(phone)}`, expect: (p) => telecoms(p, 'phone').includes(phone) },
    { q: `telecom=email|${encodeURIComponent(email)}`, expect: (p) => telecoms(p, 'email').includes(email) },
    { q: `telecom=${encodeURIComponent(phone)}`, expect: (p) => telecoms(p).includes(phone) },
    { q: 'active=true', expect: (p) => p.active === true },
    { q: 'active=false', expect: (p) => p.active === false },
    { q: 'active:missing=true', expect: (p) => p.active === undefined },
    { q: 'active:not=true', expect: (p) => p.active !== true },
    { q: 'deceased=true', expect: deceased },
    { q: 'deceased=false', expect: (p) => !deceased(p) },
    { q: 'address-use=home', expect: (p) => (p.address ?? []).some((a) => a.use === 'home') },
    { q: 'address-use:not=home', expect: (p) => !(p.address ?? []).some((a) => a.use === 'home') },
    { q: 'address-use:missing=true', expect: (p) => !(p.address ?? []).some((a) => a.use) },
    { q: 'language=es', expect: (p) => langs(p).some((c) => c.code === 'es') },
    { q: 'language=urn:ietf:bcp:47|en-US', expect: (p) => langs(p).some((c) => c.code === 'en-US' && c.system === 'urn:ietf:bcp:47') },
    { q: 'language:text=span', expect: (p) => (p.communication ?? []).some((c) => fold(c.language.text ?? c.language.coding?.[0]?.display ?? '').startsWith('span')) },
    { q: `_id=${id1},${id2}`, expect: (p) => p.id === id1 || p.id === id2 },
    { q: `_id:not=${id1}`, expect: (p) => p.id !== id1 },
    // date
    { q: 'birthdate=1990', expect: (p) => dateMatch('eq', '1990', p.birthDate) },
    { q: 'birthdate=1957-06', expect: (p) => dateMatch('eq', '1957-06', p.birthDate) },
    { q: 'birthdate=1948', expect: (p) => dateMatch('eq', '1948', p.birthDate) },
    { q: 'birthdate=1948-06', expect: (p) => dateMatch('eq', '1948-06', p.birthDate) },
    { q: 'birthdate=ge2010', expect: (p) => dateMatch('ge', '2010', p.birthDate) },
    { q: 'birthdate=lt1950', expect: (p) => dateMatch('lt', '1950', p.birthDate) },
    { q: 'birthdate=gt1957-06-15&birthdate=le1960', expect: (p) => dateMatch('gt', '1957-06-15', p.birthDate) && dateMatch('le', '1960', p.birthDate) },
    { q: 'birthdate=ge1950-01-01&birthdate=lt1950-03-01', expect: (p) => dateMatch('ge', '1950-01-01', p.birthDate) && dateMatch('lt', '1950-03-01', p.birthDate) },
    { q: 'birthdate=ge1950&birthdate=le1970&birthdate=ne1960&_sort=-family', expect: (p) => dateMatch('ge', '1950', p.birthDate) && dateMatch('le', '1970', p.birthDate) && dateMatch('ne', '1960', p.birthDate) },
    { q: 'birthdate=sa1940,eb1930&birthdate=lt1945-07', expect: (p) => (dateMatch('sa', '1940', p.birthDate) || dateMatch('eb', '1930', p.birthDate)) && dateMatch('lt', '1945-07', p.birthDate) },
    { q: 'gender=male,female&gender=female,other&_sort=birthdate', expect: (p) => p.gender === 'female' },
    { q: 'birthdate=le1957-06-15', expect: (p) => dateMatch('le', '1957-06-15', p.birthDate) },
    { q: 'birthdate=ne1990', expect: (p) => dateMatch('ne', '1990', p.birthDate) },
    { q: 'birthdate=sa2015', expect: (p) => dateMatch('sa', '2015', p.birthDate) },
    { q: 'birthdate=eb1960', expect: (p) => dateMatch('eb', '1960', p.birthDate) },
    { q: 'birthdate=ap1990-06-15', expect: (p) => dateMatch('ap', '1990-06-15', p.birthDate) },
    { q: 'birthdate=1990,2000', expect: (p) => dateMatch('eq', '1990', p.birthDate) || dateMatch('eq', '2000', p.birthDate) },
    { q: 'death-date=ge2015', expect: (p) => dateMatch('ge', '2015', p.deceasedDateTime) },
    { q: 'death-date:missing=false', expect: (p) => p.deceasedDateTime !== undefined },
    { q: `_lastUpdated=gt${encodeURIComponent('2025-01-01T01:00:00Z')}`, expect: (p) => dateMatch('gt', '2025-01-01T01:00:00Z', p.meta!.lastUpdated) },
    { q: '_lastUpdated=2025-01-01T00:30', expect: (p) => dateMatch('eq', '2025-01-01T00:30', p.meta!.lastUpdated) },
    // reference
    { q: 'general-practitioner=Practitioner/pr-3', expect: (p) => refs(p.generalPractitioner ?? []).includes('Practitioner/pr-3') },
    { q: 'general-practitioner=pr-3', expect: (p) => refs(p.generalPractitioner ?? []).some((r) => r.endsWith('/pr-3')) },
    { q: 'general-practitioner=org-1', expect: (p) => refs(p.generalPractitioner ?? []).includes('Organization/org-1') },
    { q: 'general-practitioner:Practitioner=pr-2', expect: (p) => refs(p.generalPractitioner ?? []).includes('Practitioner/pr-2') },
    { q: 'general-practitioner:missing=true', expect: (p) => !p.generalPractitioner?.length },
    { q: 'organization=Organization/org-0', expect: (p) => refs([p.managingOrganization]).includes('Organization/org-0') },
    { q: 'organization=http://other.example/fhir/Organization/org-2', expect: (p) => refs([p.managingOrganization]).includes('Organization/org-2') },
    { q: `link=${linked}`, expect: (p) => refs((p.link ?? []).map((l) => l.other)).includes(linked) },
    // sort and combinations
    { q: '_sort=family', expect: () => true },
    { q: '_sort=-birthdate&gender=female', expect: (p) => p.gender === 'female' },
    { q: '_sort=given,-_lastUpdated', expect: () => true },
    { q: '_sort=gender,family,birthdate&address-city=B', expect: (p) => startsWith(cities(p), 'b') },
    { q: '_sort=-_lastUpdated', expect: () => true },
    { q: '_sort=birthdate', expect: () => true },
    { q: '_sort=-gender,-birthdate', expect: () => true },
    { q: 'gender:missing=true', expect: (p) => p.gender === undefined },
    { q: 'birthdate:missing=true', expect: (p) => p.birthDate === undefined },
    { q: '_sort=-_id&active=true', expect: (p) => p.active === true },
    { q: '_sort=-family,given&name=a', expect: (p) => startsWith(nameParts(p), 'a') },
    { q: 'family=M&birthdate=ge1980&gender=female', expect: (p) => startsWith(families(p), 'm') && dateMatch('ge', '1980', p.birthDate) && p.gender === 'female' },
  ];
}
