import type { Database, Statement } from 'better-sqlite3';

/**
 * Prepared statements of one connection, keyed by SQL text, so each static query is compiled once.
 * Only fixed SQL goes in (dynamic filters are prepared per call) so the cache stays small.
 */
export class StatementCache {
  private readonly byDb = new WeakMap<Database, Map<string, Statement>>();

  /** The prepared form of `sql` on `db`, prepared on first use. */
  get(db: Database, sql: string): Statement {
    let statements = this.byDb.get(db);
    if (!statements) {
      statements = new Map();
      this.byDb.set(db, statements);
    }
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  }
}
