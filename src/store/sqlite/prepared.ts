import type { Database, Statement } from 'better-sqlite3';

const MAX_CACHED_STATEMENTS = 256;
const statementCache = new WeakMap<Database, Map<string, Statement>>();

/**
 * A prepared statement for `sql` on `db`, cached per connection and SQL text (search and audit
 * query shapes repeat a lot; preparing is a parse and a plan each time). Oldest evicted past 256.
 */
export function prepared(db: Database, sql: string): Statement {
  let cache = statementCache.get(db);
  if (!cache) statementCache.set(db, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) {
    if (cache.size >= MAX_CACHED_STATEMENTS) cache.delete(cache.keys().next().value!);
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
  }
  return stmt;
}
