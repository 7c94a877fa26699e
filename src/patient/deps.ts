import type { PatientStore } from '../store/port.js';
import type { Logger } from '../observability/logger.js';

/** What the Patient handlers need, handed in explicitly by `app.ts`. */
export interface PatientDeps {
  store: PatientStore;
  logger: Logger;
  /** `REQUIRE_IF_MATCH`: updates without If-Match answer 428. */
  requireIfMatch: boolean;
  /** `UNIQUE_CONTACTS`: emails and phones unique among non-deleted patients. */
  uniqueContacts: boolean;
  idempotencyTtlMs: number;
  /** Key that signs search cursors. */
  cursorKey: string;
  /** `DELETION_GRACE_PERIOD` in ms (lifecycle; default P7D). */
  deletionGracePeriodMs?: number;
  /** HMAC key of the returning-patient correlation hash (lifecycle); no hashes without it. */
  correlationSecret?: string;
}
