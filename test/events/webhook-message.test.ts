import { createHmac, randomUUID } from 'node:crypto';
import type { Patient } from 'fhir/r4.js';
import { expect } from 'chai';
import { LifecycleEventType, newEvent } from '../../src/events/event-types.js';
import { signBody, verifySignature, webhookBody, webhookPayload } from '../../src/events/webhook-message.js';
import { samplePatients } from '../support/patients.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');

/** Every PHI string of a patient that must never reach a webhook. */
function phiOf(patient: Patient): string[] {
  return [
    ...(patient.name ?? []).flatMap((n) => [n.family, ...(n.given ?? []), n.text]),
    ...(patient.telecom ?? []).map((t) => t.value),
    ...(patient.identifier ?? []).map((i) => i.value),
    ...(patient.address ?? []).flatMap((a) => [...(a.line ?? []), a.city, a.postalCode]),
    patient.birthDate,
  ].filter((v): v is string => typeof v === 'string' && v.length >= 3);
}

/** The six events the lifecycle emits for one patient, built as the lifecycle code does: ids, codes, instants. */
function lifecycleEvents(id: string, previousId: string) {
  return [
    newEvent(LifecycleEventType.softDeleted, id, T0, { reason: 'user-request', grace_expires_at: new Date(T0.getTime() + 7 * 86_400_000) }),
    newEvent(LifecycleEventType.restored, id, T0),
    newEvent(LifecycleEventType.investigationStarted, id, T0),
    newEvent(LifecycleEventType.investigationEnded, id, T0),
    newEvent(LifecycleEventType.anonymized, id, T0, { anonymized_at: T0 }),
    newEvent(LifecycleEventType.returningUser, id, T0, {
      new_patient_id: id,
      previous_patient_id: previousId,
      detected_at: T0,
      previous_anonymized_at: null,
    }),
  ];
}

describe('webhook message', () => {
  it('signs the raw body with HMAC-SHA256 of the secret', () => {
    const body = webhookBody(newEvent(LifecycleEventType.restored, randomUUID(), T0));
    const expected = createHmac('sha256', 'k1').update(body).digest('hex');
    expect(signBody(body, 'k1')).to.equal(`sha256=${expected}`);
    expect(verifySignature(body, `sha256=${expected}`, 'k1')).to.equal(true);
  });

  it('rejects a signature over another body, under another secret, or missing', () => {
    const body = webhookBody(newEvent(LifecycleEventType.restored, randomUUID(), T0));
    const header = signBody(body, 'k1');
    expect(verifySignature(`${body} `, header, 'k1')).to.equal(false);
    expect(verifySignature(body, header, 'k2')).to.equal(false);
    expect(verifySignature(body, undefined, 'k1')).to.equal(false);
    expect(verifySignature(body, 'sha256=00', 'k1')).to.equal(false);
  });

  it('puts the envelope and the data fields at the top level of the payload', () => {
    const event = newEvent(LifecycleEventType.returningUser, 'new-1', T0, { previous_patient_id: 'old-1', detected_at: T0 });
    expect(webhookPayload(event)).to.deep.equal({
      id: event.id,
      type: 'identity.patient.returning_user',
      patientId: 'new-1',
      occurredAt: '2026-03-01T10:00:00.000Z',
      previous_patient_id: 'old-1',
      detected_at: '2026-03-01T10:00:00.000Z',
    });
  });

  it('carries no PHI of any sample patient', () => {
    const patients = samplePatients;
    expect(patients).to.have.length(300);
    patients.forEach((patient, i) => {
      const id = randomUUID();
      const bodies = lifecycleEvents(id, randomUUID()).map(webhookBody).join('\n');
      for (const phi of phiOf(patient)) expect(bodies.includes(phi), `patient #${i}`).to.equal(false);
    });
  });
});

describe('newEvent', () => {
  it('gives each event a fresh UUID and UTC instants', () => {
    const a = newEvent(LifecycleEventType.anonymized, 'p1', '2026-03-01T11:00:00+01:00', { anonymized_at: T0 });
    const b = newEvent(LifecycleEventType.anonymized, 'p1', T0);
    expect(a.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.id).to.not.equal(b.id);
    expect(a.occurredAt).to.equal('2026-03-01T10:00:00.000Z');
    expect(a.data).to.deep.equal({ anonymized_at: '2026-03-01T10:00:00.000Z' });
  });

  it('refuses values shaped like names, emails or phone numbers', () => {
    const patient = samplePatients[0]!;
    const email = patient.telecom?.find((t) => t.system === 'email')?.value ?? 'someone@example.org';
    for (const value of [email, '+15551234567', `${patient.name?.[0]?.given?.[0]} ${patient.name?.[0]?.family}`]) {
      expect(() => newEvent(LifecycleEventType.softDeleted, 'p1', T0, { note: value })).to.throw(RangeError);
    }
    expect(() => newEvent(LifecycleEventType.softDeleted, 'a b', T0)).to.throw(RangeError);
  });

  it('refuses data keys that are not snake_case or shadow the envelope', () => {
    expect(() => newEvent(LifecycleEventType.restored, 'p1', T0, { id: 'x' })).to.throw(RangeError);
    expect(() => newEvent(LifecycleEventType.restored, 'p1', T0, { patientId: 'x' })).to.throw(RangeError);
    expect(() => newEvent(LifecycleEventType.restored, 'p1', T0, { 'Bad-Key': 'x' })).to.throw(RangeError);
    expect(() => newEvent(LifecycleEventType.restored, 'p1', 'not a date')).to.throw(RangeError);
  });
});
