import type { Actor } from '../context/actor.js';
import type { JwtClaims } from './verify-token.js';
import { invalidToken } from './verify-token.js';
import { parseScope } from './scopes.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
// `Patient/123`, or an absolute URL ending in it (SMART `fhirUser` is a URL).
const FHIR_USER = /(?:^|\/)(Patient|Practitioner|PractitionerRole|RelatedPerson|Person)\/([A-Za-z0-9\-.]{1,64})$/;
const MAX_CLAIM_LENGTH = 1024;

function optionalString(claims: JwtClaims, name: string): string | undefined {
  const value = claims[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > MAX_CLAIM_LENGTH) throw invalidToken(`The token claim ${name} is not a valid string`);
  return value === '' ? undefined : value;
}

function stringArray(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidToken(`The token claim ${name} must be an array of strings`);
  }
  return value as string[];
}

/** Reads a claim by name, or by a dotted path for nested claims (e.g. Keycloak's `realm_access.roles`). */
function claimAt(claims: JwtClaims, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let node: unknown = claims;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Scopes from `scope` (space-separated, RFC 8693/SMART) or `scp` (array, or a string). */
function scopesOf(claims: JwtClaims): string[] {
  const scope = claims.scope ?? claims.scp;
  if (scope === undefined) return [];
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  return stringArray(scope, claims.scope !== undefined ? 'scope' : 'scp');
}

/**
 * Builds the Actor from verified claims: `sub` (else the client id; one is required), `fhirUser`, `client_id`/`azp`, roles
 * from the configured claim (an array; anything else is 401), SMART scopes (junk kept out), the
 * patient compartment from `patient` or `fhirUser: Patient/x` (two different ones: 401), and the
 * practitioner compartment from `fhirUser: Practitioner/x` when the token has `user/` scopes and
 * the role `admin` is absent.
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token
 */
export function actorFromClaims(claims: JwtClaims, rolesClaim: string): Actor {
  const clientId = optionalString(claims, 'client_id') ?? optionalString(claims, 'azp');
  // A client-credentials token may carry only the client id.
  const subject = optionalString(claims, 'sub') ?? clientId;
  if (!subject) throw invalidToken('The bearer token has no subject (sub)');
  const fhirUser = optionalString(claims, 'fhirUser');
  const rolesValue = claimAt(claims, rolesClaim);
  const roles = rolesValue === undefined ? [] : stringArray(rolesValue, rolesClaim);
  const scopes = scopesOf(claims).filter((s) => parseScope(s) !== undefined);

  const user = fhirUser ? FHIR_USER.exec(fhirUser) : null;
  const patientClaim = optionalString(claims, 'patient');
  if (patientClaim !== undefined && !ID.test(patientClaim)) throw invalidToken('The token claim patient is not a valid id');
  const userPatient = user?.[1] === 'Patient' ? user[2] : undefined;
  if (patientClaim && userPatient && patientClaim !== userPatient) {
    throw invalidToken('The token names two different patients (patient and fhirUser)');
  }
  const patient = patientClaim ?? userPatient;
  const practitioner =
    user?.[1] === 'Practitioner' && !roles.includes('admin') && scopes.some((s) => s.startsWith('user/')) ? user[2] : undefined;

  return {
    subject,
    ...(fhirUser ? { fhirUser } : {}),
    ...(clientId ? { clientId } : {}),
    roles,
    scopes,
    ...(patient ? { patient } : {}),
    ...(practitioner ? { practitioner } : {}),
  };
}
