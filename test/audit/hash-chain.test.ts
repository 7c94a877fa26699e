import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildAuditEvent } from '../../src/audit/build-audit-event.js';
import type { AuditEventResource, AuditStore } from '../../src/audit/audit-port.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { VERIFY_SLICE } from '../../src/store/sqlite/audit-tables.js';
import { chainHash } from '../../src/audit/hash-chain.js';
import { testApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { asActor, TEST_JWT_SECRET } from '../support/tokens.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function event(i: number, patient = `p${i % 50}`): AuditEventResource {
  return buildAuditEvent({
    id: randomUUID(),
    recorded: new Date(T0 + i * 1000),
    interaction: i % 2 ? 'read' : 'search-type',
    status: i % 7 ? 200 : 404,
    actor: { subject: `user-${i % 3}`, roles: ['admin'], scopes: [] },
    requestId: `req-${i}`,
    clientIp: '127.0.0.1',
    serverUrl: 'http://localhost/fhir',
    entities: [`Patient/${patient}/_history/1`],
  });
}

describe('audit hash chain (SQLite)', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = SqliteStore.open(':memory:');
  });
  afterEach(() => store.close());

  it('reports exactly the one event edited in the database', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await store.audit.append(event(i))).resource.id);
    expect(await store.audit.verify()).to.deep.include({ ok: true, checked: 20, broken: 0 });
    store.db.prepare(`UPDATE audit_event SET resource = json_set(resource, '$.outcome', '0') WHERE id = ?`).run(ids[7]);
    const result = await store.audit.verify();
    expect(result.ok).to.equal(false);
    expect(result.broken).to.equal(1);
    expect(result.firstBroken).to.deep.equal({ seq: 8, id: ids[7] });
  });

  it('detects a deleted link', async () => {
    for (let i = 0; i < 5; i++) await store.audit.append(event(i));
    store.db.prepare('DELETE FROM audit_event WHERE seq = 3').run();
    const result = await store.audit.verify();
    expect(result.firstBroken?.seq).to.equal(4);
  });

  it('detects a cut-off tail and a chain re-hashed from an edited link only against an anchor kept outside', async () => {
    for (let i = 0; i < 10; i++) await store.audit.append(event(i));
    const { head } = await store.audit.verify();
    expect(head?.seq).to.equal(10);
    for (let i = 10; i < 15; i++) await store.audit.append(event(i));
    expect(await store.audit.verify(head)).to.deep.include({ ok: true, anchor: { seq: 10, status: 'matched' } });

    // cut the newest six links: what is left verifies on its own, but no longer holds the anchor
    const cut = SqliteStore.open(':memory:');
    try {
      for (let i = 0; i < 9; i++) await cut.audit.append(event(i));
      expect(await cut.audit.verify()).to.deep.include({ ok: true, checked: 9 });
      expect(await cut.audit.verify({ seq: 10, hash: head!.hash })).to.deep.include({ ok: false, anchor: { seq: 10, status: 'absent' } });
    } finally {
      await cut.close();
    }

    // edit link 5 and re-hash every later link: intact by itself, but link 10 is no longer the anchor
    const rows = store.db.prepare('SELECT seq, resource, prev_hash FROM audit_event ORDER BY seq').all() as { seq: number; resource: string; prev_hash: string }[];
    let prev = rows[3]!.prev_hash;
    for (const row of rows) {
      if (row.seq < 4) continue;
      if (row.seq >= 5) prev = (store.db.prepare('SELECT hash FROM audit_event WHERE seq = ?').get(row.seq - 1) as { hash: string }).hash;
      const resource = row.seq === 5 ? { ...(JSON.parse(row.resource) as AuditEventResource), outcome: '8' as const } : (JSON.parse(row.resource) as AuditEventResource);
      store.db.prepare('UPDATE audit_event SET resource = ?, prev_hash = ?, hash = ? WHERE seq = ?')
        .run(JSON.stringify(resource), prev, chainHash(prev, resource), row.seq);
    }
    expect((await store.audit.verify()).ok, 'a re-hashed chain verifies without an anchor').to.equal(true);
    expect(await store.audit.verify(head)).to.deep.include({ ok: false, anchor: { seq: 10, status: 'mismatch' } });
  });

  it('verifies an intact chain of 10,000 events', async function () {
    this.timeout(120_000);
    for (let i = 0; i < 10_000; i++) await store.audit.append(event(i));
    const started = process.hrtime.bigint();
    const result = await store.audit.verify();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(result).to.deep.include({ ok: true, checked: 10_000, broken: 0 });
    // informational (never asserted): reported to the lead
    process.stdout.write(`      verify of 10,000 events: ${ms.toFixed(0)} ms\n`);
  });

  it('keeps one sequence under concurrent appends and transactions', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 ? store.audit.append(event(i)) : store.transaction((tx) => tx.audit.append(event(i))),
      ),
    );
    const seqs = store.db.prepare('SELECT seq FROM audit_event ORDER BY seq').all() as { seq: number }[];
    expect(seqs.map((r) => r.seq)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await store.audit.verify()).ok).to.equal(true);
  });

  it('rolls an appended event back with its transaction', async () => {
    await store.transaction(async (tx) => {
      await tx.audit.append(event(1));
      throw new Error('boom');
    }).catch(() => undefined);
    expect((await store.audit.verify()).checked).to.equal(0);
  });

  it('filters by date prefixes, agent, outcome and pages by keyset', async () => {
    for (let i = 0; i < 30; i++) await store.audit.append(event(i));
    const { parseAuditSearch } = await import('../../src/audit/parse-audit-search.js');
    const parse = (q: Record<string, string[]>) =>
      parseAuditSearch(q, { actor: { subject: 'x', roles: [], scopes: [] }, strict: true, cursorKey: 'k', now: new Date(T0) }).request;
    const at = (i: number) => new Date(T0 + i * 1000).toISOString();
    expect((await store.audit.search(parse({ date: [`ge${at(10)}`, `lt${at(20)}`] }))).total).to.equal(10);
    expect((await store.audit.search(parse({ date: [`gt${at(28)}`] }))).total).to.equal(1);
    expect((await store.audit.search(parse({ agent: ['user-1'] }))).total).to.equal(10);
    expect((await store.audit.search(parse({ outcome: ['4'] }))).total).to.equal(5);
    expect((await store.audit.search(parse({ patient: ['p3'] }))).total).to.equal(1);
    const first = await store.audit.search(parse({ _count: ['4'] }));
    expect(first.events.map((e) => e.seq)).to.deep.equal([30, 29, 28, 27]);
    const second = await store.audit.search({ ...parse({ _count: ['4'] }), cursor: { after: first.next!, direction: 'next' } });
    expect(second.events.map((e) => e.seq)).to.deep.equal([26, 25, 24, 23]);
  });

  it('keeps the newest link when purging by retention', async () => {
    for (let i = 0; i < 5; i++) await store.audit.append(event(i));
    expect(await store.audit.purgeBefore(T0 + 3000)).to.equal(3);
    expect(await store.audit.verify()).to.deep.include({ ok: true, checked: 2 });
    // the purged events' search keys go with them (no orphan rows), and patient searches still work
    const orphans = store.db.prepare('SELECT count(*) AS n FROM audit_event_key WHERE seq NOT IN (SELECT seq FROM audit_event)').get() as { n: number };
    expect(orphans.n).to.equal(0);
    const byPatient = await store.audit.search({
      where: [{ kind: 'entry', param: 'patient', tests: [{ field: 'code', op: 'in', values: [0, 1, 2, 3, 4].map((i) => `Patient/p${i}`) }] }],
      descending: false,
      count: 100,
      total: true,
    });
    expect(byPatient.total).to.equal(2);
    expect(await store.audit.purgeBefore(T0 + 1e9)).to.equal(1);
    await store.audit.append(event(9));
    expect((await store.audit.verify()).ok).to.equal(true);
  });
});

describe('audit hash chain verify on a file (SQLite)', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-verify-'));
    store = SqliteStore.open(join(dir, 'audit.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function appendMany(n: number, from = 0): Promise<void> {
    await Promise.all(Array.from({ length: n }, (_, i) => store.audit.append(event(from + i))));
  }

  it('walks the chain in slices, letting the event loop run between them', async () => {
    await appendMany(2_000);
    let turns = 0;
    let walking = true;
    const tick = () => {
      turns += 1;
      if (walking) setImmediate(tick);
    };
    setImmediate(tick);
    const result = await store.audit.verify();
    walking = false;
    expect(result).to.deep.include({ ok: true, checked: 2_000, broken: 0 });
    expect(turns, 'event-loop turns during the walk').to.be.at.least(2_000 / VERIFY_SLICE - 1);
  });

  it('verifies the snapshot it started from while events keep being appended', async () => {
    await appendMany(1_000);
    const walk = store.audit.verify();
    await appendMany(600, 1_000);
    expect(await walk).to.deep.include({ ok: true, checked: 1_000, broken: 0 });
    expect(await store.audit.verify()).to.deep.include({ ok: true, checked: 1_600, broken: 0 });
  });
});

describe('fail closed', () => {
  it('answers a read 503 AUDIT_UNAVAILABLE without patient data when the audit table is gone', async () => {
    const t = testApp({ env: { JWT_SECRET: TEST_JWT_SECRET } });
    const created = await asActor(t.app).post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send(samplePatient(0));
    expect(created.status).to.equal(201);
    (t.store as SqliteStore).db.exec('DROP TABLE audit_event_key; DROP TABLE audit_event');
    const res = await asActor(t.app).get(`/fhir/Patient/${created.body.id}`);
    expect(res.status).to.equal(503);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect(res.body.issue[0].details.coding[0].code).to.equal('AUDIT_UNAVAILABLE');
    expect(res.text).not.to.include(samplePatient(0).name![0]!.family!);
    await t.store.close();
  });

  it('does not commit a create whose AuditEvent cannot be written', async () => {
    const store = SqliteStore.open(':memory:');
    const failing: AuditStore = {
      append: () => Promise.reject(new Error('disk full')),
      read: () => Promise.resolve(undefined),
      search: () => Promise.reject(new Error('x')),
      verify: () => Promise.reject(new Error('x')),
      purgeBefore: () => Promise.resolve(0),
    };
    const broken = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'audit') return failing;
        if (prop === 'transaction') {
          return <T>(work: (tx: SqliteStore) => Promise<T>) =>
            target.transaction((tx) => work(new Proxy(tx as SqliteStore, { get: (t2, p2) => (p2 === 'audit' ? failing : Reflect.get(t2, p2, t2)) })));
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const t = testApp({ env: { JWT_SECRET: TEST_JWT_SECRET }, store: broken });
    const res = await asActor(t.app).post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send(samplePatient(0));
    expect(res.status).to.equal(503);
    expect(res.body.issue[0].details.coding[0].code).to.equal('AUDIT_UNAVAILABLE');
    const count = store.db.prepare('SELECT COUNT(*) AS n FROM patient').get() as { n: number };
    expect(count.n).to.equal(0);
    await store.close();
  });
});
