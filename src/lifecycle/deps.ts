import type { PatientDeps } from '../patient/deps.js';

/**
 * What the lifecycle handlers need: the Patient dependencies (store, unique-contact rule, cursor
 * key) plus `deletionGracePeriodMs` and `correlationSecret`, set by `app.ts` from the config.
 */
export type LifecycleDeps = PatientDeps;

/** `DELETION_GRACE_PERIOD` default, P7D. */
export const DEFAULT_GRACE_PERIOD_MS = 7 * 24 * 60 * 60 * 1000;

/** The grace period in effect. */
export function gracePeriodMs(deps: Pick<LifecycleDeps, 'deletionGracePeriodMs'>): number {
  return deps.deletionGracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS;
}
