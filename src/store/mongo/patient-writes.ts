import type { ClientSession } from 'mongoose';
import { ErrorCode, errors } from '../../fhir/outcome.js';
import type { PatientRecord, UniqueKey } from '../port.js';
import { uniqueKeyConflict } from '../unique-conflict.js';
import {
  parseVersionId,
  toHistoryDocument,
  toPatientDocument,
  toUniqueKeyDocuments,
  uniqueKeyKind,
  type UniqueKeyDocument,
} from './documents.js';
import { duplicateKeyIds, isDuplicateKey } from './driver-errors.js';
import { casFilter, currentVersionUpdate, releasedKeysFilter, takenKeysFilter } from './filters.js';
import type { MongoModels } from './schemas.js';

/**
 * The two patient writes, each made of several document writes that must land together: callers
 * run them inside a multi-document transaction and pass its `session` (MongoStore does).
 *
 * Conflicts are looked for with reads first, so an expected 409/412 leaves the transaction usable
 * (a failed write would abort it on the server, unlike SQLite); the unique indexes still decide
 * any race, and their E11000 maps to the same errors.
 */

/** Writes version 1: current document, history, unique-key claims. */
export async function insertPatient(models: MongoModels, record: PatientRecord, session: ClientSession): Promise<void> {
  const current = toPatientDocument(record);
  if (await models.patients.exists({ _id: current._id }).session(session)) throw idTaken();
  await claimKeys(models, record, session);
  try {
    await models.patients.insertMany([current], { session });
  } catch (err) {
    throw isDuplicateKey(err) ? idTaken() : err;
  }
  await models.history.insertMany([toHistoryDocument(record)], { session });
}

/**
 * Writes a new current version if the stored one is still `expectedVersionId`: an atomic
 * compare-and-set on `versionId` (https://hl7.org/fhir/R4/http.html#concurrency), then its history
 * document, then the unique keys are replaced by the record's.
 */
export async function replacePatient(
  models: MongoModels,
  record: PatientRecord,
  expectedVersionId: string,
  session: ClientSession,
): Promise<void> {
  const next = toPatientDocument(record);
  const expected = parseVersionId(expectedVersionId);
  const result =
    expected === undefined
      ? undefined
      : await models.patients.updateOne(casFilter(next._id, expected), currentVersionUpdate(next), {
          session,
          runValidators: true,
        });
  if (result === undefined || result.matchedCount === 0) {
    if (!(await models.patients.exists({ _id: next._id }).session(session))) throw errors.notFound();
    throw errors.preconditionFailed(ErrorCode.VERSION_CONFLICT, 'The patient was changed by someone else (version conflict)');
  }
  // versions only grow; the history index would refuse a repeat, so this is a caller bug
  if (expected !== undefined && next.versionId <= expected) throw errors.internal();
  await models.history.insertMany([toHistoryDocument(record)], { session });
  await claimKeys(models, record, session);
}

/**
 * Makes the record's unique keys exactly the patient's claims: frees the ones it no longer has,
 * claims the new ones. Throws 409 naming every kind another patient holds.
 */
async function claimKeys(models: MongoModels, record: PatientRecord, session: ClientSession): Promise<void> {
  const patientId = record.resource.id;
  const wanted = distinct(toUniqueKeyDocuments(record));
  const wantedIds = wanted.map((key) => key._id);
  const wantedSet = new Set(wantedIds);
  const held = await models.uniqueKeys.find({ patientId }, { _id: 1 }, { session }).lean<{ _id: string }[]>();
  const heldIds = new Set(held.map((key) => key._id));
  const fresh = wanted.filter((key) => !heldIds.has(key._id));
  if (fresh.length > 0) {
    const taken = await models.uniqueKeys
      .find(takenKeysFilter(patientId, fresh.map((key) => key._id)), { kind: 1 }, { session })
      .lean<{ kind: UniqueKey['kind'] }[]>();
    if (taken.length > 0) throw uniqueKeyConflict(taken.map((key) => key.kind));
  }
  if (held.some((key) => !wantedSet.has(key._id))) {
    await models.uniqueKeys.deleteMany(releasedKeysFilter(patientId, wantedIds), { session });
  }
  if (fresh.length === 0) return;
  try {
    await models.uniqueKeys.insertMany(fresh, { session, ordered: true });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    // a race lost after the check above; the server names the clashing key when it can
    const kinds = duplicateKeyIds(err).flatMap((id) => uniqueKeyKind(id) ?? []);
    throw uniqueKeyConflict(kinds.length > 0 ? kinds : [fresh[0]!.kind]);
  }
}

/** A patient may list the same value twice (e.g. one email as home and work): one claim each. */
function distinct(keys: UniqueKeyDocument[]): UniqueKeyDocument[] {
  return [...new Map(keys.map((key) => [key._id, key])).values()];
}

function idTaken() {
  return errors.conflict(ErrorCode.VERSION_CONFLICT, 'A patient with this id already exists');
}
