/**
 * Who is acting. Filled from the verified bearer token by `auth/`; the foundation only knows the
 * anonymous placeholder. Flows unchanged to handlers, the store and the audit trail.
 */
export interface Actor {
  /** Token `sub`, or `anonymous` before authentication. */
  subject: string;
  /** SMART `fhirUser`, e.g. `Practitioner/123` or `Patient/abc`. */
  fhirUser?: string;
  /** OAuth client id (`client_id` or `azp`). */
  clientId?: string;
  roles: readonly string[];
  scopes: readonly string[];
  /** Patient compartment the token is confined to (`patient` claim or `fhirUser: Patient/x`). */
  patient?: string;
  /** Practitioner compartment (`fhirUser: Practitioner/x` with `user/` scopes, not admin). */
  practitioner?: string;
}

/** The placeholder actor used before authentication is wired (and by trusted internal jobs). */
export const systemActor: Actor = { subject: 'system', roles: ['admin'], scopes: ['system/*.*'] };
