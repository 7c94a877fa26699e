import { Schema } from 'mongoose';
import type { ClientSession, Connection, Model } from 'mongoose';
import type {
  AuditEventResource,
  AuditSearchPage,
  AuditSearchRequest,
  AuditStore,
  AuditVerifyResult,
  ChainAnchor,
  StoredAudit,
} from '../../audit/audit-port.js';
import { auditPageOf } from '../../audit/audit-page.js';
import { auditKeysOf, chainHash, ChainVerifier, GENESIS_HASH } from '../../audit/hash-chain.js';
import { ErrorCode, errors } from '../../fhir/outcome.js';
import type { Condition, EntryTest } from '../../fhir/search/types.js';
import { isRetryableTransactionError, toOutcomeError } from './driver-errors.js';
import { declareIndexes, type DeclaredIndex } from './schemas.js';

/** Collection names of the audit trail (stable: they are the on-disk layout). */
export const auditCollections = { events: 'audit_events', chain: 'audit_chain' } as const;

/** `_id` of the one chain-head document: the last link's `seq` and `hash`, updated by compare-and-set. */
export const CHAIN_HEAD_ID = 'head';

/** One link in `audit_events`. */
export interface AuditEventDocument {
  _id: string;
  seq: number;
  recordedMs: number;
  action: string;
  subtype: string;
  outcome: string;
  patients: string[];
  entities: string[];
  agents: string[];
  resource: AuditEventResource;
  hash: string;
  prevHash: string;
}

export interface ChainHeadDocument {
  _id: string;
  seq: number;
  hash: string;
}

/** Indexes of `audit_events`: chain order, and one `(key, recordedMs, seq)` per search parameter. */
export const auditEventIndexes: readonly DeclaredIndex[] = [
  { fields: { seq: 1 }, options: { unique: true } },
  { fields: { recordedMs: 1, seq: 1 } },
  { fields: { patients: 1, recordedMs: 1, seq: 1 } },
  { fields: { entities: 1, recordedMs: 1, seq: 1 } },
  { fields: { agents: 1, recordedMs: 1, seq: 1 } },
  { fields: { action: 1, recordedMs: 1, seq: 1 } },
  { fields: { subtype: 1, recordedMs: 1, seq: 1 } },
  { fields: { outcome: 1, recordedMs: 1, seq: 1 } },
];

const common = { versionKey: false, minimize: false, autoIndex: false, autoCreate: false } as const;
const hex64 = /^[0-9a-f]{64}$/;

export const auditEventSchema = new Schema<AuditEventDocument>(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true, min: 1 },
    recordedMs: { type: Number, required: true },
    action: { type: String, required: true, enum: ['C', 'R', 'U', 'D', 'E'] },
    subtype: { type: String, required: true },
    outcome: { type: String, required: true, enum: ['0', '4', '8', '12'] },
    patients: { type: [String], default: [] },
    entities: { type: [String], default: [] },
    agents: { type: [String], default: [] },
    resource: {
      type: Schema.Types.Mixed,
      required: true,
      validate: { validator: (v: unknown) => (v as { resourceType?: unknown })?.resourceType === 'AuditEvent', message: 'must be an AuditEvent' },
    },
    hash: { type: String, required: true, match: hex64 },
    prevHash: { type: String, required: true, match: hex64 },
  },
  { collection: auditCollections.events, ...common },
);
declareIndexes(auditEventSchema, auditEventIndexes);

export const chainHeadSchema = new Schema<ChainHeadDocument>(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true, min: 0 },
    hash: { type: String, required: true, match: hex64 },
  },
  { collection: auditCollections.chain, ...common },
);

export interface AuditModels {
  events: Model<AuditEventDocument>;
  chain: Model<ChainHeadDocument>;
}

/** The audit models on `connection` (registered once per connection). */
export function auditModels(connection: Connection): AuditModels {
  return {
    events: (connection.models.AuditEvent as Model<AuditEventDocument> | undefined) ?? connection.model<AuditEventDocument>('AuditEvent', auditEventSchema),
    chain: (connection.models.AuditChainHead as Model<ChainHeadDocument> | undefined) ?? connection.model<ChainHeadDocument>('AuditChainHead', chainHeadSchema),
  };
}

/** Creates the audit collections, syncs their indexes and makes sure the chain head exists. */
export async function ensureAuditCollections(connection: Connection): Promise<void> {
  const models = auditModels(connection);
  await models.events.createCollection();
  await models.events.syncIndexes();
  await models.chain.createCollection();
  await models.chain.syncIndexes();
  await models.chain.updateOne({ _id: CHAIN_HEAD_ID }, { $setOnInsert: { seq: 0, hash: GENESIS_HASH } }, { upsert: true });
}

/** The document of a new link. */
export function toAuditEventDocument(link: StoredAudit): AuditEventDocument {
  const keys = auditKeysOf(link.resource);
  return {
    _id: link.resource.id,
    seq: link.seq,
    recordedMs: keys.recordedMs,
    action: keys.action,
    subtype: keys.subtype,
    outcome: keys.outcome,
    patients: keys.patients,
    entities: keys.entities,
    agents: keys.agents,
    resource: link.resource,
    hash: link.hash,
    prevHash: link.prevHash,
  };
}

const FIELDS: Record<string, string> = {
  _id: '_id', action: 'action', subtype: 'subtype', outcome: 'outcome', patient: 'patients', entity: 'entities', agent: 'agents',
};
const OPS = { lt: '$lt', le: '$lte', gt: '$gt', ge: '$gte' } as const;

function testFilter(param: string, t: EntryTest): Record<string, unknown> {
  if (t.field === 'low' || t.field === 'high') {
    if (param !== 'date') throw errors.internal();
    // a recorded instant covers [ms, ms + 1): `high op v` is `ms op v - 1`
    return { recordedMs: { [OPS[t.op]]: t.field === 'high' ? t.value - 1 : t.value } };
  }
  const field = FIELDS[param];
  if (!field || (t.op !== 'in' && t.op !== 'eq')) throw errors.internal();
  return { [field]: { $in: t.op === 'in' ? t.values : [t.value] } };
}

/** The MongoDB filter of one neutral AuditEvent search condition (see `parseAuditSearch`). */
export function auditConditionFilter(c: Condition): Record<string, unknown> {
  switch (c.kind) {
    case 'and':
      return c.conditions.length ? { $and: c.conditions.map(auditConditionFilter) } : {};
    case 'or':
      return c.conditions.length ? { $or: c.conditions.map(auditConditionFilter) } : { _id: { $in: [] } };
    case 'not':
      return { $nor: [auditConditionFilter(c.condition)] };
    case 'missing':
      throw errors.internal();
    case 'entry':
      return c.tests.length === 1 ? testFilter(c.param, c.tests[0]!) : { $and: c.tests.map((t) => testFilter(c.param, t)) };
  }
}

/** Filter, sort and limit of one page of an AuditEvent search. */
export function compileAuditSearch(request: AuditSearchRequest): {
  filter: Record<string, unknown>;
  pageFilter: Record<string, unknown>;
  sort: Record<string, 1 | -1>;
  limit: number;
} {
  const conditions = request.where.map(auditConditionFilter);
  const filter: Record<string, unknown> = conditions.length ? { $and: conditions } : {};
  const desc = request.descending !== (request.cursor?.direction === 'previous');
  let pageFilter = filter;
  if (request.cursor) {
    const [ms, seq] = request.cursor.after;
    const op = desc ? '$lt' : '$gt';
    const keyset = { $or: [{ recordedMs: { [op]: ms } }, { recordedMs: ms, seq: { [op]: seq } }] };
    pageFilter = { $and: [...conditions, keyset] };
  }
  const dir = desc ? -1 : 1;
  return { filter, pageFilter, sort: { recordedMs: dir, seq: dir }, limit: request.count + 1 };
}

/** What the Mongo audit store needs of the `MongoStore` it hangs off. */
export interface MongoAuditHost {
  readonly session: ClientSession | undefined;
  transaction<T>(work: (tx: { audit: AuditStore }) => Promise<T>): Promise<T>;
}

function fromDocument(doc: AuditEventDocument): StoredAudit {
  return { seq: doc.seq, resource: doc.resource, hash: doc.hash, prevHash: doc.prevHash };
}

/**
 * The `AuditStore` of the MongoDB engine. `append` runs in the host's transaction (a new one on
 * the outer store): it reads the chain head, inserts the link and moves the head by
 * compare-and-set on `seq`. Two concurrent appends write the same head document, so one of them
 * gets a write conflict and `withTransaction` runs it again on the new head: one sequence, across
 * processes too.
 */
export class MongoAuditStore implements AuditStore {
  constructor(
    private readonly host: MongoAuditHost,
    private readonly models: AuditModels,
  ) {}

  append(event: AuditEventResource): Promise<StoredAudit> {
    const session = this.host.session;
    if (!session) return this.host.transaction((tx) => tx.audit.append(event));
    return this.run(async () => {
      const head = await this.models.chain.findById(CHAIN_HEAD_ID, null, { session }).lean<ChainHeadDocument>();
      const prevHash = head?.hash ?? GENESIS_HASH;
      const seq = (head?.seq ?? 0) + 1;
      const link: StoredAudit = { seq, resource: event, prevHash, hash: chainHash(prevHash, event) };
      const moved = await this.models.chain.updateOne(
        { _id: CHAIN_HEAD_ID, seq: head?.seq ?? 0 },
        { $set: { seq, hash: link.hash } },
        { session, upsert: head === null },
      );
      if (moved.matchedCount + moved.upsertedCount !== 1) {
        throw errors.unavailable(ErrorCode.AUDIT_UNAVAILABLE, 'The audit trail moved concurrently; retry');
      }
      await this.models.events.insertMany([toAuditEventDocument(link)], { session });
      return link;
    });
  }

  read(id: string): Promise<StoredAudit | undefined> {
    return this.run(async () => {
      const doc = await this.models.events.findById(id, null, { session: this.host.session }).lean<AuditEventDocument>();
      return doc ? fromDocument(doc) : undefined;
    });
  }

  search(request: AuditSearchRequest): Promise<AuditSearchPage> {
    const compiled = compileAuditSearch(request);
    const session = this.host.session;
    return this.run(async () => {
      const docs = await this.models.events.find(compiled.pageFilter, null, { session }).sort(compiled.sort).limit(compiled.limit).lean<AuditEventDocument[]>();
      const total = request.total ? await this.models.events.countDocuments(compiled.filter, { session }) : undefined;
      return auditPageOf(docs.map(fromDocument), request, total);
    });
  }

  verify(anchor?: ChainAnchor): Promise<AuditVerifyResult> {
    return this.run(async () => {
      const verifier = new ChainVerifier(anchor);
      const cursor = this.models.events.find({}, null, { session: this.host.session }).sort({ seq: 1 }).lean<AuditEventDocument[]>().cursor();
      for await (const raw of cursor) {
        const doc = raw as unknown as AuditEventDocument;
        verifier.check({ seq: doc.seq, id: doc._id, hash: doc.hash, prevHash: doc.prevHash, resource: () => doc.resource });
      }
      return verifier.result();
    });
  }

  purgeBefore(cutoffMs: number): Promise<number> {
    return this.run(async () => {
      const head = await this.models.chain.findById(CHAIN_HEAD_ID, null, { session: this.host.session }).lean<ChainHeadDocument>();
      const result = await this.models.events.deleteMany(
        { recordedMs: { $lt: cutoffMs }, seq: { $lt: head?.seq ?? 0 } },
        { session: this.host.session },
      );
      return result.deletedCount;
    });
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (this.host.session && isRetryableTransactionError(err)) throw err;
      throw toOutcomeError(err);
    }
  }
}
