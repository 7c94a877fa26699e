import { randomUUID } from 'node:crypto';
import type { LifecycleEvent } from '../store/port.js';

/** Names of the lifecycle events (SPEC §7), as they appear in the outbox and in webhook payloads. */
export const LifecycleEventType = {
  softDeleted: 'identity.patient.soft_deleted',
  restored: 'identity.patient.restored',
  anonymized: 'identity.patient.anonymized',
  investigationStarted: 'identity.patient.investigation_started',
  investigationEnded: 'identity.patient.investigation_ended',
  returningUser: 'identity.patient.returning_user',
} as const;
export type LifecycleEventType = (typeof LifecycleEventType)[keyof typeof LifecycleEventType];

/** Top-level names of a webhook payload; the event's `data` keys must not shadow them. */
export const ENVELOPE_KEYS = ['id', 'type', 'patientId', 'occurredAt'] as const;

/** Value of one `data` field: an id, a code, an instant, a number, a flag, or null. */
export type EventDataValue = string | number | boolean | null | Date;

/** `data` keys are snake_case, as SPEC §7 writes them (`new_patient_id`, `detected_at`, …). */
const DATA_KEY = /^[a-z][a-z0-9_]*$/;
/**
 * Strings an event may carry: ids (FHIR ids, UUIDs), codes and UTC instants. No spaces, `@` or `+`,
 * so a name, an email or an E.164 phone number slipped in by mistake is refused at build time.
 */
const SAFE_TEXT = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds a lifecycle event with a fresh UUID (receivers de-duplicate on it). Instants (`occurredAt`
 * and `Date` values in `data`) are written as UTC ISO strings. Refuses (RangeError) a `data` key that
 * is not snake_case or shadows an envelope key, and a string value that could not be an id, a code or
 * an instant: events never carry PHI (SPEC §7), and this catches the obvious slips.
 *
 * @example newEvent(LifecycleEventType.softDeleted, id, clock.now(), { reason: 'user-request', grace_expires_at: expires })
 */
export function newEvent(
  type: LifecycleEventType,
  patientId: string,
  occurredAt: Date | string,
  data: Record<string, EventDataValue> = {},
): LifecycleEvent {
  const fields: LifecycleEvent['data'] = {};
  for (const [key, value] of Object.entries(data)) {
    if (!DATA_KEY.test(key) || (ENVELOPE_KEYS as readonly string[]).includes(key)) {
      throw new RangeError(`event data key "${key}" is not allowed`);
    }
    const stored = value instanceof Date ? instant(value) : value;
    if (typeof stored === 'string' && !SAFE_TEXT.test(stored)) {
      throw new RangeError(`event data "${key}" must be an id, a code or an instant`);
    }
    fields[key] = stored;
  }
  if (!SAFE_TEXT.test(patientId)) throw new RangeError('event patientId must be an id');
  return { id: randomUUID(), type, patientId, occurredAt: instant(occurredAt), data: fields };
}

function instant(value: Date | string): string {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError('event instant is not a valid date');
  return new Date(ms).toISOString();
}
