import type { ClientSession } from 'mongoose';
import type { StoredPatient, TypeHistoryCursor, TypeHistoryPage, TypeHistoryQuery } from '../port.js';
import { toStoredPatient } from './documents.js';
import type { MongoModels } from './schemas.js';

/**
 * The filter of one type-level history page: versions since `since`, strictly older than the
 * cursor in `(lastUpdatedMs, id, versionId)` order. Pure, so tests can evaluate it with mingo.
 */
export function typeHistoryFilter(query: TypeHistoryQuery): object {
  const since = query.since !== undefined ? { lastUpdatedMs: { $gte: query.since } } : {};
  const after = query.after;
  if (!after) return since;
  return {
    ...since,
    $or: [
      { lastUpdatedMs: { $lt: after.lastUpdatedMs } },
      { lastUpdatedMs: after.lastUpdatedMs, id: { $lt: after.id } },
      { lastUpdatedMs: after.lastUpdatedMs, id: after.id, versionId: { $lt: after.versionId } },
    ],
  };
}

/** The sort the `(lastUpdatedMs, id, versionId)` index of `patient_history` serves backwards. */
export const TYPE_HISTORY_SORT = { lastUpdatedMs: -1, id: -1, versionId: -1 } as const;

type Row = Pick<StoredPatient, 'resource' | 'state'> & TypeHistoryCursor;

/** Type-level history on MongoDB: one keyset page from `patient_history`, newest first. */
export async function historyAcrossPatients(
  models: MongoModels,
  query: TypeHistoryQuery,
  session: ClientSession | undefined,
): Promise<TypeHistoryPage> {
  const count = Number.isFinite(query.count) ? Math.max(0, Math.floor(query.count)) : 0;
  const rows = await models.history
    .find(typeHistoryFilter(query), { _id: 0, resource: 1, state: 1, lastUpdatedMs: 1, id: 1, versionId: 1 }, { session })
    .sort(TYPE_HISTORY_SORT)
    .limit(count + 1)
    .lean<Row[]>();
  const page = rows.slice(0, count);
  const last = page.at(-1);
  return {
    versions: page.map((row) => toStoredPatient({ resource: row.resource, state: row.state })),
    ...(rows.length > count && last ? { next: { lastUpdatedMs: last.lastUpdatedMs, id: last.id, versionId: last.versionId } } : {}),
  };
}
