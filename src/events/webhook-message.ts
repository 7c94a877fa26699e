import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LifecycleEvent } from '../store/port.js';

/** Name of the header that carries the body's signature (SPEC §7). */
export const SIGNATURE_HEADER = 'X-Signature';

/** The JSON object a webhook receives: the envelope, then the event's `data` fields at top level. */
export type WebhookPayload = Record<string, string | number | boolean | null> & {
  id: string;
  type: string;
  patientId: string;
  occurredAt: string;
};

/**
 * The payload of `event`: `{ id, type, patientId, occurredAt, ...data }`, e.g.
 * `{"id":"…","type":"identity.patient.returning_user","patientId":"…","occurredAt":"…",
 * "new_patient_id":"…","previous_patient_id":"…","detected_at":"…"}`. Envelope keys win over a `data`
 * key of the same name (which `newEvent` refuses anyway). `id` is what receivers de-duplicate on.
 */
export function webhookPayload(event: LifecycleEvent): WebhookPayload {
  return {
    ...event.data,
    id: event.id,
    type: event.type,
    patientId: event.patientId,
    occurredAt: event.occurredAt,
  };
}

/** The raw request body for `event` (the exact bytes that are signed and sent). */
export function webhookBody(event: LifecycleEvent): string {
  return JSON.stringify(webhookPayload(event));
}

/** The `X-Signature` value of `body`: `sha256=` and the hex HMAC-SHA256 of the raw body keyed by `secret`. */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Whether `header` is the signature of the raw `body` under `secret`, compared in constant time.
 * What a receiver does before trusting a webhook.
 */
export function verifySignature(body: string | Buffer, header: string | undefined, secret: string): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
