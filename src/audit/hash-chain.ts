import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditEventResource, AuditKeys, AuditVerifyResult, ChainAnchor, StoredAudit } from './audit-port.js';

/** `prevHash` of the very first link. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash of one link: SHA-256 (hex) of the previous link's hash followed by the JSON
 * Canonicalization Scheme form (RFC 8785) of the AuditEvent, so any change to a stored event, or to
 * the order of the chain, changes every later comparison.
 */
export function chainHash(prevHash: string, event: AuditEventResource): string {
  return createHash('sha256').update(prevHash).update(canonicalJson(event)).digest('hex');
}

/** An array index as a property key: V8 enumerates those first, in numeric order, not in JCS order. */
const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

/**
 * RFC 8785 (JCS) text of a JSON value. JCS is ECMAScript `JSON.stringify` with every object's keys
 * sorted by UTF-16 code units, so the native serializer does the work here (several times faster
 * than the `canonicalize` package on an event with 20 entities); objects with array-index keys,
 * which V8 would enumerate in numeric order, go to `canonicalize`. A test checks both agree.
 */
export function canonicalJson(value: unknown): string {
  let indexKeys = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const keys = Object.keys(v).sort();
    const sorted: Record<string, unknown> = {};
    for (const k of keys) {
      if (INDEX_KEY.test(k)) indexKeys = true;
      sorted[k] = (v as Record<string, unknown>)[k];
    }
    return sorted;
  });
  const canonical = indexKeys ? canonicalize(value) : text;
  if (canonical === undefined) throw new TypeError('The value cannot be canonicalized');
  return canonical;
}

/**
 * Checks links in chain order, fed one at a time (so engines can stream). The first link's
 * `prevHash` must be the genesis hash when it is link 1; after a retention purge the first kept
 * link anchors the chain.
 */
export class ChainVerifier {
  private last: { seq: number; hash: string } | undefined;
  private anchorStatus: 'matched' | 'mismatch' | 'absent' = 'absent';
  checked = 0;
  broken = 0;
  firstBroken: { seq: number; id: string } | undefined;

  constructor(private readonly anchor?: ChainAnchor) {}

  /** Checks one link; `resource` may fail to parse (a tampered row), which counts as broken. */
  check(link: { seq: number; id: string; hash: string; prevHash: string; resource: () => AuditEventResource }): void {
    this.checked += 1;
    if (this.anchor && link.seq === this.anchor.seq) this.anchorStatus = link.hash === this.anchor.hash ? 'matched' : 'mismatch';
    const expectedPrev = this.last ? this.last.hash : link.seq === 1 ? GENESIS_HASH : link.prevHash;
    let ok = link.prevHash === expectedPrev;
    if (ok) {
      try {
        const resource = link.resource();
        ok = resource.id === link.id && chainHash(link.prevHash, resource) === link.hash;
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      this.broken += 1;
      this.firstBroken ??= { seq: link.seq, id: link.id };
    }
    this.last = { seq: link.seq, hash: link.hash };
  }

  result(): AuditVerifyResult {
    const anchored = !this.anchor || this.anchorStatus === 'matched';
    return {
      ok: this.broken === 0 && anchored,
      checked: this.checked,
      broken: this.broken,
      ...(this.firstBroken ? { firstBroken: this.firstBroken } : {}),
      ...(this.last ? { head: { ...this.last } } : {}),
      ...(this.anchor ? { anchor: { seq: this.anchor.seq, status: this.anchorStatus } } : {}),
    };
  }
}

/** Drops the `_history/<vid>` part of a reference. */
function withoutVersion(reference: string): string {
  return reference.replace(/\/_history\/[^/]*$/, '');
}

/** The values an AuditEvent is searched by (see {@link AuditKeys}). */
export function auditKeysOf(event: AuditEventResource): AuditKeys {
  const entities = (event.entity ?? [])
    .map((e) => e.what?.reference)
    .filter((r): r is string => typeof r === 'string')
    .map(withoutVersion);
  const agents: string[] = [];
  for (const agent of event.agent ?? []) {
    if (!agent.requestor) continue;
    if (agent.who?.reference) agents.push(agent.who.reference);
    if (agent.who?.identifier?.value) agents.push(agent.who.identifier.value);
  }
  return {
    recordedMs: Date.parse(event.recorded),
    action: event.action ?? '',
    subtype: event.subtype?.[0]?.code ?? '',
    outcome: event.outcome ?? '',
    patients: [...new Set(entities.filter((r) => r.startsWith('Patient/')))],
    entities: [...new Set(entities)],
    agents: [...new Set(agents)],
  };
}

/** A stored link as served: the AuditEvent with its chain position and hashes as extensions. */
export function servedAuditEvent(link: StoredAudit, extensionBase: string): AuditEventResource {
  return {
    ...link.resource,
    extension: [
      ...(link.resource.extension ?? []),
      { url: `${extensionBase}/StructureDefinition/audit-chain-sequence`, valueInteger: link.seq },
      { url: `${extensionBase}/StructureDefinition/audit-chain-hash`, valueString: link.hash },
      { url: `${extensionBase}/StructureDefinition/audit-chain-previous-hash`, valueString: link.prevHash },
    ],
  };
}
