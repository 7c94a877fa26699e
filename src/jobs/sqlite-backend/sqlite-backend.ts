import type { AgendaBackend } from 'agenda';
import { SqliteJobRepository, type SqliteJobRepositoryOptions } from './sqlite-job-repository.js';

/**
 * Agenda's backend on SQLite: storage only, no notification channel (Agenda polls every
 * `processEvery`), no persistent job log. It never owns the connection, so `agenda.stop()` leaves the
 * store's database open.
 *
 * @example
 * ```ts
 * const store = SqliteStore.open(path);
 * const backend = new SqliteBackend({ db: store.db, run: (work) => store.withDb(work) });
 * await backend.repository.ensureSchema(); // fail fast before Agenda's unguarded connect()
 * const agenda = new Agenda({ backend, processEvery: '1 second' });
 * ```
 */
export class SqliteBackend implements AgendaBackend {
  readonly name = 'SQLite';
  readonly repository: SqliteJobRepository;
  readonly notificationChannel = undefined;
  readonly ownsConnection = false;

  constructor(options: SqliteJobRepositoryOptions) {
    this.repository = new SqliteJobRepository(options);
  }

  /** Never rejects (Agenda's constructor calls it without a catch); see {@link SqliteJobRepository.connect}. */
  connect(): Promise<void> {
    return this.repository.connect();
  }

  disconnect(): Promise<void> {
    return this.repository.disconnect();
  }
}
