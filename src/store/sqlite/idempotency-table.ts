import type { Database } from 'better-sqlite3';
import { errors } from '../../fhir/outcome.js';
import type { IdempotencyRecord } from '../port.js';

interface IdempotencyRow {
  key: string;
  fingerprint: string;
  status: number;
  patient_id: string;
  version_id: string;
  created_at: string;
  expires_at: string;
}

/**
 * The `idempotency` table behind `Idempotency-Key`. Instants are stored as `Date#toISOString()`
 * (UTC, milliseconds) so that text order is time order and `expires_at` can be purged by index.
 */
export class IdempotencyTable {
  private readonly sql;

  constructor(db: Database) {
    this.sql = {
      get: db.prepare<[string], IdempotencyRow>('SELECT * FROM idempotency WHERE key = ?'),
      put: db.prepare(
        `INSERT OR IGNORE INTO idempotency (key, fingerprint, status, patient_id, version_id, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      purge: db.prepare<[string]>('DELETE FROM idempotency WHERE expires_at < ?'),
    };
  }

  get(key: string): IdempotencyRecord | undefined {
    const row = this.sql.get.get(key);
    return (
      row && {
        key: row.key,
        fingerprint: row.fingerprint,
        status: row.status,
        patientId: row.patient_id,
        versionId: row.version_id,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      }
    );
  }

  /** Inserts `record`; false (and nothing changed) when its key exists. */
  put(record: IdempotencyRecord): boolean {
    const { changes } = this.sql.put.run(
      record.key,
      record.fingerprint,
      record.status,
      record.patientId,
      record.versionId,
      isoInstant(record.createdAt),
      isoInstant(record.expiresAt),
    );
    return changes === 1;
  }

  /** Deletes records that expired before `now`; returns how many. */
  purge(now: Date): number {
    return this.sql.purge.run(now.toISOString()).changes;
  }
}

function isoInstant(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw errors.internal();
  return new Date(ms).toISOString();
}
