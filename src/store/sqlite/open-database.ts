import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, errors } from '../../fhir/outcome.js';
import { BUSY_TIMEOUT_MS, toOutcomeError } from './driver-errors.js';
import { migrate, migrations, type Migration } from './migrations.js';

/** The location of an in-memory database (one private database per connection). */
export const MEMORY = ':memory:';

/**
 * How long opening waits for the write lock while migrating: another process may be running a long
 * migration on the same file (migration 5 takes ~2 s per 10,000 patients); waiting for it beats
 * failing to start. SQLite releases a dead process's lock, so the wait cannot outlive the holder.
 */
export const MIGRATION_BUSY_TIMEOUT_MS = 15 * 60_000;

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
    db.pragma(`busy_timeout = ${MIGRATION_BUSY_TIMEOUT_MS}`);
    migrate(db, list);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    analyzeIfNeeded(db);
    return db;
  } catch (err) {
    const mapped = toOutcomeError(err, db);
    if (db?.open) db.close();
    throw mapped;
  }
}

/**
 * Planner statistics: without them a filter plus a different sort can pick a full index walk
 * (https://sqlite.org/lang_analyze.html#req). 0x10002 analyzes the tables that need it. Best effort:
 * when another process holds the write lock the statistics wait for the next start.
 */
function analyzeIfNeeded(db: Database.Database): void {
  try {
    db.pragma('optimize = 0x10002');
  } catch (err) {
    if (!(err instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(err.code))) throw err;
  }
}

function createParentDirectory(file: string): void {
  try {
    mkdirSync(dirname(resolve(file)), { recursive: true });
  } catch {
    throw errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'The database directory cannot be created');
  }
}
