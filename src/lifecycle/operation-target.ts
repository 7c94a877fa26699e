import type { Actor } from '../context/actor.js';
import type { PatientStore } from '../store/port.js';
import { assertPatientInCompartment, isConfined } from '../auth/compartment.js';

/**
 * The patient a deletion or lifecycle operation names, seen through the caller's compartment: a
 * token confined to a patient context (or to a practitioner's patients) gets 404 for any other
 * patient — even with the admin role — exactly as every other interaction answers. Unconfined
 * tokens pay no read.
 */
export async function assertTargetInCompartment(store: PatientStore, actor: Actor, id: string): Promise<void> {
  if (!isConfined(actor)) return;
  const stored = await store.read(id);
  if (stored) assertPatientInCompartment(actor, stored.resource);
}
