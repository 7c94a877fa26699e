import { expect } from 'chai';
import type { OperationOutcome, Patient } from 'fhir/r4.js';
import { searchsetBundle, searchsetJson } from '../../src/fhir/bundle.js';
import { loadSamplePatients } from '../../src/cli/seed/synthetic-patients.js';

const patients: Patient[] = loadSamplePatients().slice(0, 3);
const links = [
  { relation: 'self', url: 'http://localhost/fhir/Patient?family=%22quoted%22&name=%E2%9C%93' },
  { relation: 'next', url: 'http://localhost/fhir/Patient?_cursor=abc' },
];
const outcome: OperationOutcome = {
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'warning', code: 'not-supported', diagnostics: 'Unknown search parameters were ignored: foo' }],
};

describe('searchset Bundle as JSON text', () => {
  const cases: [string, Parameters<typeof searchsetBundle>[0]][] = [
    ['matches, total and links', { entries: patients.map((p) => ({ fullUrl: `http://localhost/fhir/Patient/${p.id}`, resource: p })), total: 42, links }],
    ['matches and an outcome entry, no total', { entries: patients.map((p) => ({ fullUrl: `u:${p.id}`, resource: p })), links, outcome }],
    ['no match (empty entry list)', { entries: [], total: 0, links: [links[0]!] }],
    ['only the outcome entry', { entries: [], links, outcome }],
  ];
  for (const [name, options] of cases) {
    it(`is byte-identical to serializing the Bundle object: ${name}`, () => {
      const text = searchsetJson({
        ...options,
        entries: options.entries.map((e) => ({ fullUrl: e.fullUrl, json: JSON.stringify(e.resource) })),
      });
      expect(text).to.equal(JSON.stringify(searchsetBundle(options)));
    });
  }
});
