import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { contactKeys, normalizeEmail, normalizePhone } from '../../../src/patient/validation/normalize-contacts.js';

describe('normalizeEmail', () => {
  it('trims and lower-cases a valid address', () => {
    expect(normalizeEmail(' A@B.ORG ')).to.equal('a@b.org');
    expect(normalizeEmail("o'brien+tag@mail.example.co.uk")).to.equal("o'brien+tag@mail.example.co.uk");
  });

  for (const bad of ['', 'plain', 'a@b', 'a@@b.org', '.a@b.org', 'a..b@b.org', 'a@-b.org', 'a@b.o', 'a b@c.org', 'mailto:a@b.org', `${'x'.repeat(65)}@b.org`]) {
    it(`refuses ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 10)}…` : bad)}`, () => {
      expect(normalizeEmail(bad)).to.equal(undefined);
    });
  }

  it('refuses non-strings', () => {
    expect(normalizeEmail(42)).to.equal(undefined);
  });
});

describe('normalizePhone', () => {
  it('formats international numbers as E.164', () => {
    expect(normalizePhone('+1 (508) 555-0123')).to.equal('+15085550123');
    expect(normalizePhone('+33 1 42 68 53 00')).to.equal('+33142685300');
  });

  it('reads national numbers with the default country', () => {
    expect(normalizePhone('(508) 555-0123', 'US')).to.equal('+15085550123');
    expect(normalizePhone('030 901820', 'de')).to.equal('+4930901820');
  });

  it('refuses national numbers without a usable default country', () => {
    expect(normalizePhone('(508) 555-0123')).to.equal(undefined);
    expect(normalizePhone('(508) 555-0123', 'ZZ')).to.equal(undefined);
  });

  it('refuses invalid numbers, extensions and oversized input', () => {
    expect(normalizePhone('+1 555 555 5555')).to.equal(undefined);
    expect(normalizePhone('+1 508 555 0123 ext. 12')).to.equal(undefined);
    expect(normalizePhone(`+1${'5'.repeat(100)}`)).to.equal(undefined);
    expect(normalizePhone(15085550123)).to.equal(undefined);
  });
});

describe('contactKeys', () => {
  it('collects normalized, de-duplicated emails and phones, skipping invalid ones', () => {
    const patient: Patient = {
      resourceType: 'Patient',
      address: [{ country: 'us' }],
      telecom: [
        { system: 'email', value: 'Ann@Example.org' },
        { system: 'email', value: 'ann@example.org' },
        { system: 'email', value: 'nope' },
        { system: 'phone', value: '(508) 555-0123' },
        { system: 'sms', value: '+15085550123' },
        { system: 'fax', value: '+1 617 555 0100' },
        { system: 'url', value: 'https://example.org' },
        { system: 'phone' },
      ],
    };
    expect(contactKeys(patient)).to.deep.equal({
      emails: ['ann@example.org'],
      phones: ['+15085550123', '+16175550100'],
    });
  });

  it('answers empty lists for a patient without telecom', () => {
    expect(contactKeys({ resourceType: 'Patient' } as Patient)).to.deep.equal({ emails: [], phones: [] });
  });
});
