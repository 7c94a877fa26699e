import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { isOperationOutcomeError } from '../../../src/fhir/outcome.js';
import { migrate, migrations, schemaVersion, type Migration } from '../../../src/store/sqlite/migrations.js';
import { openDatabase } from '../../../src/store/sqlite/open-database.js';
import { BUSY_TIMEOUT_MS } from '../../../src/store/sqlite/driver-errors.js';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

describe('SQLite migrations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-migrations-'));
  const file = () => join(dir, `${randomUUID()}.sqlite`);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('brings a new database to the last version and is a no-op on reopen', () => {
    const location = file();
    const first = openDatabase(location);
    expect(schemaVersion(first)).to.equal(migrations.length);
    first.close();
    const again = new Database(location);
    expect(migrate(again)).to.deep.equal([]);
    expect(schemaVersion(again)).to.equal(migrations.length);
    again.close();
  });

  it('creates the tables the search and lifecycle code rely on, as STRICT tables', () => {
    const db = openDatabase(':memory:');
    const tables = db
      .prepare<[], { name: string; strict: number }>("SELECT name, strict FROM pragma_table_list WHERE schema = 'main'")
      .all()
      .filter((t) => !t.name.startsWith('sqlite_'));
    expect(tables.map((t) => t.name).sort()).to.include.members([
      'idempotency',
      'patient',
      'patient_history',
      'patient_search',
      'patient_unique',
    ]);
    expect(tables.every((t) => t.strict === 1)).to.equal(true);
    db.close();
  });

  it('applies an appended migration once, in its own transaction', () => {
    const db = openDatabase(':memory:');
    const next: Migration = {
      version: migrations.length + 1,
      description: 'test table',
      up: (d) => d.exec('CREATE TABLE extra (id TEXT PRIMARY KEY) STRICT'),
    };
    expect(migrate(db, [...migrations, next])).to.deep.equal([next.version]);
    expect(migrate(db, [...migrations, next])).to.deep.equal([]);
    db.close();
  });

  it('leaves the version unchanged when a migration fails', () => {
    const db = openDatabase(':memory:');
    const broken: Migration = {
      version: migrations.length + 1,
      description: 'fails halfway',
      up: (d) => d.exec('CREATE TABLE half (id TEXT) STRICT; CREATE TABLE half (id TEXT) STRICT'),
    };
    expect(() => migrate(db, [...migrations, broken])).to.throw();
    expect(schemaVersion(db)).to.equal(migrations.length);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'half'").get()).to.deep.equal({ n: 0 });
    db.close();
  });

  it('refuses a database whose schema is newer than the code (503)', () => {
    const location = file();
    const db = new Database(location);
    db.pragma('user_version = 999');
    db.close();
    try {
      openDatabase(location);
      expect.fail('expected a refusal');
    } catch (err) {
      expect(isOperationOutcomeError(err) && [err.status, err.code]).to.deep.equal([503, 'STORE_UNAVAILABLE']);
    }
  });

  it('moves the search rows of a version-4 database into the clustered table of version 5', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.slice(0, 4));
    const insert = db.prepare('INSERT INTO patient_search (patient_id, param, text, exact, system, code, low, high, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('p2', 'family', 'smith', 'Smith', null, null, null, null, null);
    insert.run('p1', 'identifier', null, null, 'urn:x', '42', null, null, null);
    insert.run('p2', 'birthdate', null, null, null, null, 1000, 2000, null);
    insert.run('p1', 'general-practitioner', null, null, null, null, null, null, 'Practitioner/9');
    expect(migrate(db)).to.deep.equal([5]);
    const rows = db.prepare('SELECT patient_id, seq, param, text, exact, system, code, low, high, ref FROM patient_search ORDER BY patient_id, seq').all();
    expect(rows).to.deep.equal([
      { patient_id: 'p1', seq: 1, param: 'identifier', text: null, exact: null, system: 'urn:x', code: '42', low: null, high: null, ref: null },
      { patient_id: 'p1', seq: 2, param: 'general-practitioner', text: null, exact: null, system: null, code: null, low: null, high: null, ref: 'Practitioner/9' },
      { patient_id: 'p2', seq: 1, param: 'family', text: 'smith', exact: 'Smith', system: null, code: null, low: null, high: null, ref: null },
      { patient_id: 'p2', seq: 2, param: 'birthdate', text: null, exact: null, system: null, code: null, low: 1000, high: 2000, ref: null },
    ]);
    const table = db.prepare<[], { wr: number }>("SELECT wr FROM pragma_table_list WHERE name = 'patient_search'").get();
    expect(table?.wr, 'WITHOUT ROWID').to.equal(1);
    const indexes = db.prepare<[], { name: string }>("SELECT name FROM pragma_index_list('patient_search')").all().map((i) => i.name);
    expect(indexes).to.include.members(['patient_search_text', 'patient_search_token', 'patient_search_range', 'patient_search_ref']);
    expect(indexes).to.not.include('patient_search_param');
    expect(indexes).to.not.include('patient_search_patient');
    db.close();
  });

  it('waits for another process that holds the write lock (a long migration) instead of failing to open', async function () {
    this.timeout(30_000);
    const location = file();
    const held = BUSY_TIMEOUT_MS + 1_000;
    // another connection, on another thread, takes the write lock of the new file and keeps it
    const holder = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const Database = require(workerData.driver);
       const db = new Database(workerData.file);
       db.pragma('journal_mode = WAL');
       db.exec('BEGIN IMMEDIATE');
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
       db.exec('COMMIT');
       db.close();`,
      { eval: true, workerData: { file: location, ms: held, driver: createRequire(import.meta.url).resolve('better-sqlite3') } },
    );
    await once(holder, 'message');
    const started = Date.now();
    const db = openDatabase(location);
    expect(Date.now() - started, 'it waited past the ordinary busy timeout').to.be.at.least(BUSY_TIMEOUT_MS);
    expect(schemaVersion(db)).to.equal(migrations.length);
    db.close();
    await once(holder, 'exit');
  });

  it('refuses a migration list with a gap', () => {
    const db = new Database(':memory:');
    const gap: Migration = { version: 3, description: 'gap', up: () => undefined };
    expect(() => migrate(db, [...migrations, gap])).to.throw(RangeError);
    db.close();
  });
});
