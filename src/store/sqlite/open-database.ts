import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, errors } from '../../fhir/outcome.js';
import { toOutcomeError } from './driver-errors.js';
import { migrate, migrations, type Migration } from './migrations.js';

/** The location of an in-memory database (one private database per connection). */
export const MEMORY = ':memory:';

/** How long a writer waits for another connection's lock before giving up with 503. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) the SQLite database at `location` — a file path or `:memory:` — sets the
 * connection pragmas and applies pending migrations. The parent directory of a file is created.
 * WAL lets readers proceed while one writer commits; `synchronous=FULL` fsyncs the WAL at every
 * commit, so an answered write survives a power loss (group commit makes that one fsync per batch). Throws only `OperationOutcomeError` (503 when the
 * file cannot be opened or stays locked).
 */
export function openDatabase(location: string, list: readonly Migration[] = migrations): Database.Database {
  let db: Database.Database | undefined;
  try {
    const inMemory = location === MEMORY;
    if (!inMemory) createParentDirectory(location);
    db = new Database(location);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!inMemory) {
      db.pragma('journal_mode = WAL');
      // Checkpoints run in a worker thread (BackgroundCheckpoint); this automatic one, inside a
      // commit, is only the safety net (~200 MB). The WAL file is truncated back to 64 MB after each.
      db.pragma('wal_autocheckpoint = 50000');
      db.pragma('journal_size_limit = 67108864');
      db.pragma('mmap_size = 268435456');
    }
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    // Anonymization must not leave PHI in freed pages (https://sqlite.org/pragma.html#pragma_secure_delete).
    db.pragma('secure_delete = ON');
    migrate(db, list);
    // Planner statistics: without them a filter plus a different sort can pick a full index walk
    // (https://sqlite.org/lang_analyze.html#req). 0x10002 analyzes tables that need it on open.
    db.pragma('optimize = 0x10002');
    return db;
  } catch (err) {
    const mapped = toOutcomeError(err, db);
    if (db?.open) db.close();
    throw mapped;
  }
}

function createParentDirectory(file: string): void {
  try {
    mkdirSync(dirname(resolve(file)), { recursive: true });
  } catch {
    throw errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'The database directory cannot be created');
  }
}
