import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { buildRecord, samplePatient } from '../record-builder.js';

describe('SQLite group commit', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'group-commit-')), 'x.sqlite'));
  });
  afterEach(async () => {
    await store.close();
  });

  it('commits concurrent transactions together in one BEGIN … COMMIT', async () => {
    let begins = 0;
    const exec = store.db.exec.bind(store.db);
    (store.db as { exec: (sql: string) => unknown }).exec = (sql: string) => {
      if (sql.startsWith('BEGIN')) begins++;
      return exec(sql);
    };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.transaction(async () => i)));
    expect(results).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
    expect(begins).to.equal(1);
  });

  it('rolls back only the transaction that throws; its neighbours in the batch commit', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        store.transaction(async (tx) => {
          await tx.create(buildRecord(samplePatient(i), { id: `q-${i}` }));
          if (i % 3 === 0) throw new Error(`work ${i} fails after writing`);
        }),
      ),
    );
    results.forEach((r, i) => expect(r.status, `work ${i}`).to.equal(i % 3 === 0 ? 'rejected' : 'fulfilled'));
    for (let i = 0; i < 10; i++) {
      const stored = await store.read(`q-${i}`);
      if (i % 3 === 0) expect(stored, `q-${i}`).to.equal(undefined);
      else expect(stored, `q-${i}`).to.not.equal(undefined);
    }
  });

  it('answers a transaction only after its batch is committed (durable for another connection)', async () => {
    const other = SqliteStore.open(store.db.name);
    try {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.create(buildRecord(samplePatient(20 + i), { id: `r-${i}` }));
          }).then(async () => expect(await other.read(`r-${i}`), `r-${i} visible to another connection`).to.not.equal(undefined)),
        ),
      );
    } finally {
      await other.close();
    }
  });

  it('fails every transaction of a batch whose COMMIT fails, and persists none of them', async () => {
    const exec = store.db.exec.bind(store.db);
    let failCommit = true;
    (store.db as { exec: (sql: string) => unknown }).exec = (sql: string) => {
      if (sql === 'COMMIT' && failCommit) {
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      }
      return exec(sql);
    };
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => store.transaction((tx) => tx.create(buildRecord(samplePatient(30 + i), { id: `s-${i}` })))),
    );
    failCommit = false;
    expect(results.every((r) => r.status === 'rejected')).to.equal(true);
    for (let i = 0; i < 5; i++) expect(await store.read(`s-${i}`)).to.equal(undefined);
    // and the store keeps working
    await store.transaction((tx) => tx.create(buildRecord(samplePatient(40), { id: 's-after' })));
    expect(await store.read('s-after')).to.not.equal(undefined);
  });
});
