import type { AuditEvent } from 'fhir/r4.js';
import type { Condition } from '../fhir/search/types.js';

/** An AuditEvent as the builder makes it: `id` set, everything else BALP-shaped. */
export type AuditEventResource = AuditEvent & { id: string; recorded: string };

/**
 * The flat values an AuditEvent is searched by, extracted once when it is appended
 * (see `auditKeysOf`), so both engines index the same things the same way.
 */
export interface AuditKeys {
  /** `recorded` as epoch ms. */
  recordedMs: number;
  /** `C` `R` `U` `D` `E`. */
  action: string;
  /** The restful interaction or operation name (e.g. `read`, `$restore`). */
  subtype: string;
  /** `0` `4` `8` `12`. */
  outcome: string;
  /** `Patient/<id>` of every Patient entity. */
  patients: string[];
  /** Every entity reference without its `_history` part (`Patient/<id>`). */
  entities: string[];
  /** The requesting agent: its `who` reference (`fhirUser`) and its token subject. */
  agents: string[];
}

/** One stored link of the chain. */
export interface StoredAudit {
  seq: number;
  resource: AuditEventResource;
  hash: string;
  prevHash: string;
}

/** A parsed AuditEvent search (the neutral condition tree of `fhir/search/types.ts`). */
export interface AuditSearchRequest {
  /**
   * All must hold. Params: `date` (entry tests on `low`/`high`, the instant's `[ms, ms+1)`),
   * `patient`, `entity`, `agent`, `action`, `subtype`, `outcome`, `_id` (entry tests `code in`).
   */
  where: Condition[];
  /** Newest first (`_sort=-date`, the default) or oldest first (`_sort=date`). */
  descending: boolean;
  count: number;
  /** Whether to count all matches. */
  total: boolean;
  /** Keyset position: `[recordedMs, seq]` of the boundary row. */
  cursor?: { after: [number, number]; direction: 'next' | 'previous' };
}

export interface AuditSearchPage {
  events: StoredAudit[];
  total?: number;
  next?: [number, number];
  previous?: [number, number];
}

/**
 * A link an auditor recorded outside the server (from an earlier `$verify`'s `head`). The chain
 * must still hold it: a chain cut short, or rewritten and re-hashed from an earlier point, does not.
 */
export interface ChainAnchor {
  seq: number;
  hash: string;
}

/** What `$verify` found. */
export interface AuditVerifyResult {
  /** Every link verifies, and the anchor (when given) was found unchanged. */
  ok: boolean;
  /** Links checked. */
  checked: number;
  /** The first link whose hash does not match its content or its predecessor. */
  firstBroken?: { seq: number; id: string };
  /** How many links are broken in all. */
  broken: number;
  /** The last link checked: record it outside the server to anchor a later walk. */
  head?: ChainAnchor;
  /** With an anchor: `matched`, `mismatch` (that link has another hash) or `absent` (no such link). */
  anchor?: { seq: number; status: 'matched' | 'mismatch' | 'absent' };
}

/**
 * The audit trail port (SPEC §8): append-only, hash-chained storage of AuditEvents, one per engine,
 * reached as `store.audit`. On a transaction store (`tx.audit`) `append` joins that transaction,
 * so a change and its AuditEvent commit together or not at all.
 * https://hl7.org/fhir/R4/auditevent.html
 */
export interface AuditStore {
  /**
   * Appends `event` as the next link: `hash = SHA-256(prevHash + JCS(event))`. Atomic and single
   * sequence across concurrent requests and processes. Throws `OperationOutcomeError` only.
   */
  append(event: AuditEventResource): Promise<StoredAudit>;
  read(id: string): Promise<StoredAudit | undefined>;
  search(request: AuditSearchRequest): Promise<AuditSearchPage>;
  /** Walks the whole chain from the first link; with `anchor`, also checks the chain still holds it. */
  verify(anchor?: ChainAnchor): Promise<AuditVerifyResult>;
  /**
   * Deletes links recorded before `cutoffMs` (retention, `AUDIT_RETENTION`); the first kept link
   * then anchors the chain. Returns how many were deleted.
   */
  purgeBefore(cutoffMs: number): Promise<number>;
}
