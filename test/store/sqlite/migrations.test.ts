import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { isOperationOutcomeError } from '../../../src/fhir/outcome.js';
import { migrate, migrations, schemaVersion, type Migration } from '../../../src/store/sqlite/migrations.js';
import { openDatabase } from '../../../src/store/sqlite/open-database.js';

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

  it('refuses a migration list with a gap', () => {
    const db = new Database(':memory:');
    const gap: Migration = { version: 3, description: 'gap', up: () => undefined };
    expect(() => migrate(db, [...migrations, gap])).to.throw(RangeError);
    db.close();
  });
});
