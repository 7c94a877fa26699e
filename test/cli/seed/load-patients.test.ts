import { expect } from 'chai';
import { loadPatients } from '../../../src/cli/seed/load-patients.js';
import { loadSamplePatients, SyntheticPatients } from '../../../src/cli/seed/synthetic-patients.js';
import { warmUpSchema } from '../../../src/patient/validation/schema-validator.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { PatientStore } from '../../../src/store/port.js';

const samples = loadSamplePatients();

describe('loadPatients', () => {
  let store: PatientStore;
  before(function () {
    this.timeout(60_000);
    warmUpSchema();
  });
  beforeEach(() => {
    store = SqliteStore.open(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  it('loads every copy in batches and reports the ids', async () => {
    const synthetic = new SyntheticPatients(samples);
    const progress: number[] = [];
    const result = await loadPatients(store, {
      count: 120,
      batchSize: 50,
      patient: (k) => synthetic.copy(k),
      uniqueContacts: true,
      onProgress: (n) => progress.push(n),
    });
    expect(result).to.include({ loaded: 120, invalid: 0, duplicates: 0 });
    expect(progress).to.deep.equal([50, 100, 120]);
    expect(new Set(result.ids).size).to.equal(120);
    const stored = await store.read(result.ids[119]!);
    expect(stored?.state).to.equal('active');
    expect(stored?.resource.meta?.versionId).to.equal('1');
  });

  it('skips copies whose identifier a previous load took, and loads the rest', async () => {
    const synthetic = new SyntheticPatients(samples);
    await loadPatients(store, { count: 10, patient: (k) => synthetic.copy(k), uniqueContacts: true });
    // The same generator numbers again: copies 5–9 repeat, 10–14 are new.
    const result = await loadPatients(store, { count: 10, patient: (k) => synthetic.copy(k + 5), uniqueContacts: true });
    expect(result).to.include({ loaded: 5, duplicates: 5, invalid: 0 });
  });

  it('counts copies the validator refuses instead of loading them', async () => {
    const synthetic = new SyntheticPatients(samples);
    const result = await loadPatients(store, {
      count: 4,
      patient: (k) => (k === 2 ? { ...synthetic.copy(k), birthDate: '2999-01-01' } : synthetic.copy(k)),
      uniqueContacts: true,
    });
    expect(result).to.include({ loaded: 3, invalid: 1 });
  });
});
