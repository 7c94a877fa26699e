import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import type { RequestContext } from '../../context/request-context.js';
import type { IdempotencyRecord, PatientRecord, PatientStore } from '../../store/port.js';
import { errors, ErrorCode } from '../../fhir/outcome.js';
import { validatePatient } from '../validation/validate-patient.js';
import { buildPatientRecord } from '../record.js';
import type { PatientDeps } from '../deps.js';
import { assertWritableInCompartment } from '../../auth/compartment.js';
import { detectReturningPatient } from '../../lifecycle/returning-patient.js';
import { versionOf } from '../../fhir/resource-version.js';

/** Printable ASCII, as the Idempotency-Key draft suggests; long enough for a UUID or a hash. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** A race on one Idempotency-Key: the other request's record won. */
class IdempotencyRace extends Error {}

/**
 * `POST /fhir/Patient` (https://hl7.org/fhir/R4/http.html#create): validates, assigns a UUIDv4 id and
 * version 1, stores. With `Idempotency-Key`, a replay answers the original status, Location and
 * ETag; the same key with another body answers 409 IDEMPOTENCY_KEY_REUSED.
 */
export async function createPatientHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const now = ctx.clock.now();
  const patient = validatePatient(req.body, { now, mode: 'create' });
  assertWritableInCompartment(ctx.actor, patient);
  const idempotency = req.headers.idempotencyKey === undefined ? undefined : idempotencyOf(req.headers.idempotencyKey, req.body);

  if (idempotency) {
    const replay = await replayIdempotent(deps.store, idempotency, now);
    if (replay) return replay;
  }

  const resource: PatientRecord['resource'] = {
    ...patient,
    id: req.assignedId ?? randomUUID(),
    meta: { ...patient.meta, versionId: '1', lastUpdated: now.toISOString() },
  };
  const record = buildPatientRecord(resource, 'active', deps);
  try {
    await deps.store.transaction(async (tx) => {
      await tx.create(record);
      // A returning patient is reported (event), never linked: the new account stays independent.
      await detectReturningPatient(tx, resource, resource.id, now, deps.correlationSecret, ctx);
      if (idempotency) {
        const stored = await tx.putIdempotency({
          key: idempotency.keyHash,
          fingerprint: idempotency.fingerprint,
          status: 201,
          patientId: resource.id,
          versionId: '1',
          createdAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + deps.idempotencyTtlMs).toISOString(),
        });
        if (!stored) throw new IdempotencyRace();
      }
    });
  } catch (err) {
    if (!(err instanceof IdempotencyRace) || !idempotency) throw err;
    const replay = await replayIdempotent(deps.store, idempotency, now);
    if (replay) return replay;
    throw errors.conflict(ErrorCode.IDEMPOTENCY_KEY_REUSED, 'A concurrent request holds this Idempotency-Key');
  }
  return { status: 201, resource, version: versionOf(resource), location: true };
}

interface Idempotency {
  keyHash: string;
  fingerprint: string;
}

function idempotencyOf(key: string, body: unknown): Idempotency {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw errors.badRequest(ErrorCode.INVALID_HEADER, 'Idempotency-Key must be 1–255 printable ASCII characters');
  }
  return {
    // The key is the client's and could carry anything: only its hash is stored.
    keyHash: sha256(key),
    fingerprint: sha256(canonicalize(body) ?? ''),
  };
}

async function replayIdempotent(store: PatientStore, idempotency: Idempotency, now: Date): Promise<FhirResponse | undefined> {
  const record: IdempotencyRecord | undefined = await store.getIdempotency(idempotency.keyHash);
  if (!record || Date.parse(record.expiresAt) <= now.getTime()) return undefined;
  if (record.fingerprint !== idempotency.fingerprint) {
    throw errors.conflict(ErrorCode.IDEMPOTENCY_KEY_REUSED, 'This Idempotency-Key was used with a different request body');
  }
  const version = await store.readVersion(record.patientId, record.versionId);
  if (!version) return undefined;
  return {
    status: record.status,
    resource: version.resource,
    version: versionOf(version.resource),
    location: true,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
