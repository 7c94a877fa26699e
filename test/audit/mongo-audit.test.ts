import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Query } from 'mingo';
import mongoose from 'mongoose';
import { buildAuditEvent } from '../../src/audit/build-audit-event.js';
import { chainHash, GENESIS_HASH } from '../../src/audit/hash-chain.js';
import { parseAuditSearch } from '../../src/audit/parse-audit-search.js';
import {
  auditEventIndexes,
  auditModels,
  compileAuditSearch,
  toAuditEventDocument,
  type AuditEventDocument,
} from '../../src/store/mongo/audit.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function documents(n: number): AuditEventDocument[] {
  let prev = GENESIS_HASH;
  return Array.from({ length: n }, (_, i) => {
    const resource = buildAuditEvent({
      id: randomUUID(),
      recorded: new Date(T0 + i * 1000),
      interaction: i % 2 ? 'read' : 'create',
      status: i % 5 ? 200 : 410,
      actor: { subject: `u${i % 2}`, fhirUser: 'Practitioner/p1', roles: [], scopes: [] },
      requestId: `r${i}`,
      clientIp: '10.0.0.1',
      serverUrl: 'http://localhost/fhir',
      entities: [`Patient/p${i % 4}/_history/1`],
    });
    const hash = chainHash(prev, resource);
    const doc = toAuditEventDocument({ seq: i + 1, resource, hash, prevHash: prev });
    prev = hash;
    return doc;
  });
}

function parse(q: Record<string, string[]>) {
  return parseAuditSearch(q, { actor: { subject: 'a', roles: [], scopes: [] }, strict: true, cursorKey: 'k', now: new Date(T0) }).request;
}

describe('MongoDB audit trail (without a server)', () => {
  const docs = documents(20);

  it('validates a link document against the schema', async () => {
    const connection = mongoose.createConnection();
    const { events } = auditModels(connection);
    await new events(docs[0]).validate();
    let failed = false;
    await new events({ ...docs[0], hash: 'nope' }).validate().catch(() => (failed = true));
    expect(failed).to.equal(true);
    await connection.close();
  });

  it('declares a unique chain order and an index led by every searchable field', () => {
    expect(auditEventIndexes[0]).to.deep.equal({ fields: { seq: 1 }, options: { unique: true } });
    const leading = auditEventIndexes.map((i) => Object.keys(i.fields)[0]);
    for (const field of ['recordedMs', 'patients', 'entities', 'agents', 'action', 'subtype', 'outcome']) {
      expect(leading, field).to.include(field);
    }
  });

  it('compiles searches that select the same events as the SQLite engine would', () => {
    const run = (q: Record<string, string[]>) => {
      const compiled = compileAuditSearch(parse(q));
      return new Query(compiled.filter).find(docs).all().length;
    };
    expect(run({ patient: ['p1'] })).to.equal(5);
    expect(run({ action: ['C'] })).to.equal(10);
    expect(run({ outcome: ['4'] })).to.equal(4);
    expect(run({ agent: ['Practitioner/p1'] })).to.equal(20);
    expect(run({ date: [`ge${new Date(T0 + 5000).toISOString()}`, `lt${new Date(T0 + 8000).toISOString()}`] })).to.equal(3);
  });

  it('pages newest first with a keyset filter', () => {
    const request = { ...parse({ _count: ['3'] }), cursor: { after: [T0 + 10_000, 11] as [number, number], direction: 'next' as const } };
    const compiled = compileAuditSearch(request);
    expect(compiled.sort).to.deep.equal({ recordedMs: -1, seq: -1 });
    const page = new Query(compiled.pageFilter).find(docs).sort(compiled.sort).limit(compiled.limit).all() as AuditEventDocument[];
    expect(page.map((d) => d.seq)).to.deep.equal([10, 9, 8, 7]);
  });
});
