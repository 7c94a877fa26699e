import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isOperationOutcomeError, type OperationOutcomeError } from '../../src/fhir/outcome.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runStoreContract } from './contract.js';
import { buildRecord, nextVersion, samplePatient } from './record-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'sqlite-store-'));
const tempFile = () => join(dir, `${randomUUID()}.sqlite`);
after(() => rmSync(dir, { recursive: true, force: true }));

runStoreContract('SQLite :memory:', async () => SqliteStore.open(':memory:'));
runStoreContract('SQLite file', async () => SqliteStore.open(tempFile()));

const record = (n: number) => buildRecord(samplePatient(n), { id: randomUUID() });

async function refusal(promise: Promise<unknown>): Promise<OperationOutcomeError> {
  const err = await promise.then(() => expect.fail('expected a refusal'), (e: unknown) => e);
  expect(isOperationOutcomeError(err), String(err)).to.equal(true);
  return err as OperationOutcomeError;
}

describe('SqliteStore', () => {
  const open: SqliteStore[] = [];
  const openStore = (location = tempFile()) => {
    const store = SqliteStore.open(location);
    open.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('opens a file in WAL mode with the connection pragmas', () => {
    const { db } = openStore(join(dir, 'nested', 'deeper', 'fhir.sqlite'));
    expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
    expect(db.pragma('synchronous', { simple: true })).to.equal(2);
    expect(db.pragma('busy_timeout', { simple: true })).to.equal(5000);
    expect(db.pragma('foreign_keys', { simple: true })).to.equal(1);
  });

  it('makes calls on the store wait until an open transaction commits', async () => {
    const store = openStore(':memory:');
    const r = record(20);
    const events: string[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let created!: () => void;
    const inside = new Promise<void>((resolve) => (created = resolve));
    const tx = store.transaction(async (t) => {
      await t.create(r);
      created();
      await finished;
      events.push('commit');
    });
    await inside;
    const read = store.read(r.resource.id).then((found) => events.push(found ? 'read found' : 'read missing'));
    await new Promise((resolve) => setImmediate(resolve));
    events.push('released');
    finish();
    await Promise.all([tx, read]);
    expect(events).to.deep.equal(['released', 'commit', 'read found']);
  });

  it('rolls back only a refused write inside a transaction', async () => {
    const store = openStore(':memory:');
    const a = record(21);
    await store.create(a);
    const b = record(22);
    await store.transaction(async (tx) => {
      const err = await refusal(tx.create({ ...b, uniqueKeys: a.uniqueKeys }));
      expect(err.code).to.equal('DUPLICATE_IDENTIFIER');
      await tx.create(b);
    });
    expect(await store.read(b.resource.id)).not.to.equal(undefined);
  });

  it('refuses a transaction store used after its transaction ended', async () => {
    const store = openStore(':memory:');
    const leaked = await store.transaction(async (tx) => tx);
    expect((await refusal(leaked.read(randomUUID()))).status).to.equal(500);
  });

  it('maps driver errors thrown through tx.db to an OperationOutcomeError', async () => {
    const store = openStore(':memory:');
    const err = await refusal(store.transaction(async (tx) => (tx as SqliteStore).db.exec('SELECT * FROM nowhere')));
    expect(err.status).to.equal(500);
    expect(err.message).not.to.include('nowhere');
  });

  it('runs code beside the port after an open transaction ends, and inside it on the tx store', async () => {
    const store = openStore(':memory:');
    const count = (db: SqliteStore['db']) => db.prepare('SELECT count(*) AS n FROM patient').get();
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let created!: () => void;
    const inside = new Promise<void>((resolve) => (created = resolve));
    const tx = store.transaction(async (t) => {
      await t.create(record(29));
      expect(await (t as SqliteStore).withDb(count)).to.deep.equal({ n: 1 });
      created();
      await finished;
      throw new Error('roll back');
    });
    await inside;
    const outside = store.withDb(count);
    finish();
    await tx.catch(() => undefined);
    expect(await outside).to.deep.equal({ n: 0 });
    const err = await refusal(store.withDb((db) => db.exec('SELECT * FROM nowhere')));
    expect(err.status).to.equal(500);
  });

  it('answers 503 STORE_UNAVAILABLE once closed, and ping says false', async () => {
    const store = SqliteStore.open(':memory:');
    await store.close();
    await store.close();
    const err = await refusal(store.read(randomUUID()));
    expect([err.status, err.code]).to.deep.equal([503, 'STORE_UNAVAILABLE']);
    expect(await store.ping()).to.equal(false);
  });

  describe('two connections on one file (two processes)', () => {
    it('keeps unique keys unique across connections', async () => {
      const file = tempFile();
      const [a, b] = [openStore(file), openStore(file)];
      const first = record(23);
      await a.create(first);
      const copy = buildRecord(samplePatient(24), { id: randomUUID(), uniqueKeys: first.uniqueKeys });
      expect((await refusal(b.create(copy))).code).to.equal('DUPLICATE_IDENTIFIER');
      await a.update(nextVersion(first, { state: 'soft-deleted', uniqueKeys: [] }), '1');
      await b.create(copy);
    });

    it('keeps compare-and-set correct across connections', async () => {
      const file = tempFile();
      const [a, b] = [openStore(file), openStore(file)];
      const v1 = record(25);
      await a.create(v1);
      await a.update(nextVersion(v1), '1');
      const err = await refusal(b.update(nextVersion(v1), '1'));
      expect([err.status, err.code]).to.deep.equal([412, 'VERSION_CONFLICT']);
      expect((await b.read(v1.resource.id))?.resource.meta?.versionId).to.equal('2');
    });

    it('hides uncommitted writes from the other connection', async () => {
      const file = tempFile();
      const [a, b] = [openStore(file), openStore(file)];
      const r = record(26);
      await a.transaction(async (tx) => {
        await tx.create(r);
        expect(await b.read(r.resource.id)).to.equal(undefined);
      });
      expect(await b.read(r.resource.id)).not.to.equal(undefined);
    });

    it('answers 503 STORE_UNAVAILABLE when the other connection keeps the write lock', async () => {
      const file = tempFile();
      const [a, b] = [openStore(file), openStore(file)];
      b.db.pragma('busy_timeout = 10');
      await a.transaction(async (tx) => {
        await tx.create(record(27));
        const err = await refusal(b.create(record(28)));
        expect([err.status, err.code]).to.deep.equal([503, 'STORE_UNAVAILABLE']);
      });
    });
  });
});
