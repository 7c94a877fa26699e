import { expect } from 'chai';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { PatientStore } from '../../src/store/port.js';
import { runAnonymizationSweep } from '../../src/lifecycle/sweep.js';
import { afterGrace, seedExpiredPatients } from '../../src/cli/bench-sweep.js';
import { samplePatients } from '../support/patients.js';

const PATIENTS = 12;
const CRASH_AFTER = 5;
const COMMITTED = 4;

/**
 * The store as seen by a process that dies while anonymizing patient `after + 1`: its transaction
 * has already replaced the history (anonymizeHistory) when the outbox write throws, the way a
 * killed process never reaches COMMIT.
 */
function crashingStore(store: PatientStore, after: number): PatientStore {
  let events = 0;
  const crashingTx = (tx: PatientStore): PatientStore =>
    new Proxy(tx, {
      get(target, name, receiver) {
        if (name === 'appendEvents') {
          return async (...args: Parameters<PatientStore['appendEvents']>) => {
            if (++events > after) throw new Error('process killed');
            return target.appendEvents(...args);
          };
        }
        if (name === 'transaction') return <T>(work: (inner: PatientStore) => Promise<T>) => target.transaction((inner) => work(crashingTx(inner)));
        return Reflect.get(target, name, receiver) as unknown;
      },
    });
  return crashingTx(store);
}

/** Family names of every stored version of `id` (empty once anonymized). */
function familiesInHistory(db: SqliteStore['db'], id: string): { versions: number; withName: number } {
  const rows = db.prepare('SELECT resource FROM patient_history WHERE id = ?').all(id) as { resource: string }[];
  return { versions: rows.length, withName: rows.filter((r) => (JSON.parse(r.resource) as { name?: unknown }).name !== undefined).length };
}

describe('anonymization sweep killed mid-batch', () => {
  let store: SqliteStore;
  afterEach(async () => {
    await store.close();
  });

  it('leaves no patient half anonymized, and a rerun finishes with one event per patient', async () => {
    store = SqliteStore.open(':memory:');
    const deletedAt = new Date('2026-03-01T10:00:00.000Z');
    const ids = await seedExpiredPatients(store, { count: PATIENTS, deletedAt, samples: samplePatients.filter((p) => p.name) });
    const now = afterGrace(deletedAt);

    let crash: unknown;
    // chunks of 3 patients per transaction within batches of 4: [3][1][3 ← dies at its 2nd patient]
    const options = { now, batchSize: 4, perTransaction: 3 };
    await runAnonymizationSweep(crashingStore(store, CRASH_AFTER), options).catch((err: unknown) => (crash = err));
    expect(String(crash)).to.include('process killed');

    const states = await Promise.all(ids.map(async (id) => (await store.read(id))?.state));
    // the dying chunk's first patient was anonymized in its transaction, and rolled back with it
    expect(states.filter((s) => s === 'anonymized')).to.have.length(COMMITTED);
    expect(states.filter((s) => s === 'soft-deleted')).to.have.length(PATIENTS - COMMITTED);
    for (const id of ids) {
      const { versions, withName } = familiesInHistory(store.db, id);
      // every version anonymized, or none
      expect([0, versions], id).to.include(withName);
      expect(withName === 0, id).to.equal(states[ids.indexOf(id)] === 'anonymized');
    }

    const rerun = await runAnonymizationSweep(store, options);
    expect(rerun).to.deep.equal({ anonymized: PATIENTS - COMMITTED, skipped: 0 });
    for (const id of ids) {
      expect((await store.read(id))?.state).to.equal('anonymized');
      expect(familiesInHistory(store.db, id).withName, id).to.equal(0);
    }
    const counts = store.db
      .prepare("SELECT patient_id, COUNT(*) AS n FROM outbox_event WHERE type = 'identity.patient.anonymized' GROUP BY patient_id")
      .all() as { patient_id: string; n: number }[];
    expect(counts).to.have.length(PATIENTS);
    expect(counts.every((c) => c.n === 1)).to.equal(true);
  });
});
