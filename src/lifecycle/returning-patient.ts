import { randomUUID } from 'node:crypto';
import type { Patient } from 'fhir/r4.js';
import type { LifecycleEvent, PatientStore } from '../store/port.js';
import { correlationHashes } from './correlation-hash.js';
import { LifecycleEventType, newEvent } from '../events/event-types.js';
import { deletionInfo } from './lifecycle-extensions.js';
import type { RequestContext } from '../context/request-context.js';
import { buildAuditEvent } from '../audit/build-audit-event.js';

/** AuditEvent subtype (operation code system) of a returning-patient detection. */
export const RETURNING_PATIENT_SUBTYPE = 'returning-patient';

/**
 * Returning-patient detection (SPEC §7), called by the create handler inside its transaction: when a
 * correlation hash of the new patient's emails/phones matches a soft-deleted or anonymized patient,
 * appends one `identity.patient.returning_user` event per previous patient (`new_patient_id`,
 * `previous_patient_id`, `detected_at`, `previous_anonymized_at`). The new account stays
 * independent: nothing is restored or linked. With the request's `ctx`, also appends one AuditEvent
 * (subtype `returning-patient`, the new and the previous patients as entities) in `tx`, so the
 * detection, its events and its audit commit with the create. Returns the events (none without a secret).
 */
export async function detectReturningPatient(
  tx: PatientStore,
  patient: Pick<Patient, 'telecom' | 'address'>,
  newId: string,
  now: Date,
  correlationSecret: string | undefined,
  ctx?: RequestContext,
): Promise<LifecycleEvent[]> {
  if (correlationSecret === undefined) return [];
  const hashes = correlationHashes(patient, correlationSecret);
  if (hashes.length === 0) return [];
  const events: LifecycleEvent[] = [];
  for (const previousId of await tx.findByCorrelation(hashes)) {
    if (previousId === newId) continue;
    const previous = await tx.read(previousId);
    if (!previous || previous.state === 'active') continue;
    events.push(
      newEvent(LifecycleEventType.returningUser, newId, now, {
        new_patient_id: newId,
        previous_patient_id: previousId,
        detected_at: now.toISOString(),
        previous_anonymized_at: deletionInfo(previous.resource)?.anonymizedAt ?? null,
      }),
    );
  }
  if (events.length > 0) {
    await tx.appendEvents(events);
    if (ctx) await auditDetection(tx, ctx, now, newId, events);
  }
  return events;
}

async function auditDetection(tx: PatientStore, ctx: RequestContext, now: Date, newId: string, events: LifecycleEvent[]): Promise<void> {
  const previous = events.map((e) => `Patient/${String(e.data.previous_patient_id)}`);
  await tx.audit.append(
    buildAuditEvent({
      id: randomUUID(),
      recorded: now,
      interaction: RETURNING_PATIENT_SUBTYPE,
      status: 200,
      actor: ctx.actor,
      requestId: ctx.requestId,
      clientIp: ctx.clientIp,
      ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}),
      serverUrl: ctx.baseUrl,
      entities: [`Patient/${newId}/_history/1`, ...previous],
    }),
  );
}
