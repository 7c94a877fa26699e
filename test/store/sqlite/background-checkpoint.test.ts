import { expect } from 'chai';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { buildRecord, samplePatient } from '../record-builder.js';

describe('SQLite background checkpoint', () => {
  it('moves committed pages from the WAL into the database file without a commit doing it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'checkpoint-')), 'x.sqlite');
    const store = SqliteStore.open(file);
    try {
      const before = statSync(file).size;
      // well below the automatic checkpoint threshold: only the worker can have moved these pages
      await store.transaction(async (tx) => {
        for (let i = 0; i < 200; i++) await tx.create(buildRecord(samplePatient(i), { id: `c-${i}` }));
      });
      expect(statSync(`${file}-wal`).size).to.be.greaterThan(0);
      const deadline = Date.now() + 10_000;
      while (statSync(file).size <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(statSync(file).size).to.be.greaterThan(before);
      expect(await store.read('c-199')).to.not.equal(undefined);
    } finally {
      await store.close();
    }
  });
});
