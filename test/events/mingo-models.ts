import { Query, updateMany, updateOne } from 'mingo';
import { Types } from 'mongoose';
import type { OutboxModels } from '../../src/store/mongo/outbox.js';

type Doc = Record<string, unknown> & { _id?: unknown };
type Sort = Record<string, 1 | -1>;

/**
 * A collection in memory with the few mongoose `Model` calls `MongoOutbox` makes, evaluated by mingo
 * (MongoDB's query and update semantics). Each call is atomic, as a single-document operation is on
 * a server. Generated `_id`s are hex strings (plain data survives `structuredClone`, which stands in
 * for `lean()`). It stands in for MongoDB where no mongod can run; the server suite runs the real thing.
 */
export class MingoCollection {
  readonly docs: Doc[] = [];

  insert(docs: Doc[]): void {
    for (const d of docs) this.docs.push({ _id: new Types.ObjectId().toHexString(), ...structuredClone(d) });
  }

  find(filter: object, projection?: Record<string, 1>) {
    let sort: Sort | undefined;
    let limit: number | undefined;
    const run = () => {
      let cursor = new Query(filter).find(this.docs, projection);
      if (sort) cursor = cursor.sort(sort);
      if (limit !== undefined) cursor = cursor.limit(limit);
      return structuredClone(cursor.all());
    };
    const chain = {
      sort: (s: Sort) => ((sort = s), chain),
      limit: (n: number) => ((limit = n), chain),
      lean: async () => run(),
    };
    return chain;
  }

  findOneAndUpdate(filter: object, update: object, options: { sort?: Sort }) {
    return {
      lean: async () => {
        let cursor = new Query(filter).find(this.docs);
        if (options.sort) cursor = cursor.sort(options.sort);
        const [first] = cursor.limit(1).all() as Doc[];
        if (!first) return null;
        updateOne(this.docs, { _id: first._id }, update);
        return structuredClone(this.docs.find((d) => d._id === first._id));
      },
    };
  }

  async exists(filter: object) {
    const found = this.first(filter);
    return found ? { _id: found._id } : null;
  }

  async updateOne(filter: object, update: object) {
    return updateOne(this.docs, filter, update);
  }

  async updateMany(filter: object, update: object) {
    return updateMany(this.docs, filter, update);
  }

  async countDocuments(filter: object = {}) {
    return new Query(filter).find(this.docs).all().length;
  }

  /**
   * Ordered upserts with `$setOnInsert` only: what fan-out sends. Runs without yielding, so the
   * upserted key stays unique as the server's unique index keeps it.
   */
  async bulkWrite(ops: { updateOne: { filter: Doc; update: { $setOnInsert: Doc }; upsert: true } }[]) {
    for (const { updateOne: op } of ops) {
      if (!this.first(op.filter)) this.insert([{ ...op.filter, ...op.update.$setOnInsert }]);
    }
    return { ok: 1 };
  }

  private first(filter: object): Doc | undefined {
    return (new Query(filter).find(this.docs).limit(1).all() as Doc[])[0];
  }
}

/** The outbox models on mingo collections (shared by every `MongoOutbox` built on them, like one database). */
export function mingoOutboxModels(): OutboxModels & { [K in keyof OutboxModels]: MingoCollection } {
  const models = { events: new MingoCollection(), sequences: new MingoCollection(), deliveries: new MingoCollection() };
  return models as unknown as OutboxModels & typeof models;
}
