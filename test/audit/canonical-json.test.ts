import { expect } from 'chai';
import canonicalize from 'canonicalize';
import { canonicalJson } from '../../src/audit/hash-chain.js';
import { buildAuditEvent } from '../../src/audit/build-audit-event.js';
import { seededRandom as random } from '../support/random.js';

// Keys that sort differently by code unit than by V8's property order or by locale: array indexes,
// signs, upper/lower case, non-ASCII, astral (surrogate pair) and empty keys.
const KEYS = ['resourceType', 'id', 'a', 'B', 'b', '', '0', '1', '2', '10', '-1', '01', '1.5', 'é', 'e\u0301', 'ﬀ', '€', '😀', '\u{1F600}x', 'z', 'Z', '_x', '$y'];
const STRINGS = ['', 'plain', 'quote " and \\ backslash', 'line\nbreak', '\u0000\u001f control', 'é', '😀', '\u2028\u2029', '<script>'];
const NUMBERS = [0, -0, 1, -1, 1.5, 1e21, 1e-7, 123456789012345680000, Number.MAX_SAFE_INTEGER, 5e-324, 0.1 + 0.2];

function value(next: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const kind = depth > 3 ? Math.floor(next() * 4) : Math.floor(next() * 6);
  switch (kind) {
    case 0: return pick(STRINGS);
    case 1: return pick(NUMBERS);
    case 2: return pick([true, false, null]);
    case 3: return pick(STRINGS) + String(Math.floor(next() * 1000));
    case 4: return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      const n = Math.floor(next() * 6);
      for (let i = 0; i < n; i++) object[pick(KEYS)] = value(next, depth + 1);
      if (next() < 0.1) object.skipped = undefined;
      return object;
    }
  }
}

describe('canonicalJson (RFC 8785)', () => {
  it('agrees with the canonicalize package on 2,000 generated JSON values', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const v = value(random(seed), 0);
      expect(canonicalJson(v), `seed ${seed}`).to.equal(canonicalize(v));
    }
  });

  it('agrees with the canonicalize package on an AuditEvent with many entities', () => {
    const event = buildAuditEvent({
      id: '5f2c1c52-3f57-4d51-9d63-0d6a7e1b2c01',
      recorded: new Date('2026-11-23T12:00:00.000Z'),
      interaction: 'search-type',
      status: 200,
      actor: { subject: 'clinician-1', roles: ['clinician'], scopes: [], fhirUser: 'Practitioner/p1' },
      requestId: 'req-1',
      clientIp: '127.0.0.1',
      userAgent: 'test',
      serverUrl: 'http://localhost/fhir',
      entities: Array.from({ length: 20 }, (_, i) => `Patient/p${i}/_history/${i + 1}`),
      query: 'family=Sm%C3%AFth&_count=20',
    });
    expect(canonicalJson(event)).to.equal(canonicalize(event));
  });

  it('sorts array-index keys by code unit as JCS requires, not in V8 property order', () => {
    expect(canonicalJson({ 10: 'a', 2: 'b', '-1': 'c', x: 'd' })).to.equal('{"-1":"c","10":"a","2":"b","x":"d"}');
  });
});
