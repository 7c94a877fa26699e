import type { PatientStore } from '../store/port.js';
import type { Logger } from '../observability/logger.js';
import type { JobQueue } from '../jobs/job-queue.js';

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
  /** `MAX_BUNDLE_ENTRIES`: largest batch/transaction Bundle (413 above; default 5000). */
  maxBundleEntries?: number;
  /** Queue of the `$restore` / `$anonymize` jobs (lifecycle); without it they run in the request. */
  jobs?: JobQueue;
  /** `OPERATION_WAIT` in ms: how long `$restore` / `$anonymize` wait for their job before answering 202. */
  operationWaitMs?: number;
}
