import type { Actor } from '../context/actor.js';
import { ErrorCode, OperationOutcomeError, errors } from '../fhir/outcome.js';
import { isConfined } from './compartment.js';
import { parseScopes, REQUIREMENTS, scopeNeeded, type Permission, type ResourceScope } from './scopes.js';

const parsed = new WeakMap<readonly string[], ResourceScope[]>();

/** The resource scopes of an actor, parsed once per scope list (actors are cached per token). */
export function grantsOf(actor: Actor): ResourceScope[] {
  let grants = parsed.get(actor.scopes);
  if (!grants) {
    grants = parseScopes(actor.scopes);
    parsed.set(actor.scopes, grants);
  }
  return grants;
}

/** Whether the actor's scopes grant `permission` on `resourceType`. */
export function hasPermission(actor: Actor, resourceType: string, permission: Permission): boolean {
  return grantsOf(actor).some(
    (g) =>
      (g.resourceType === resourceType || g.resourceType === '*') &&
      g.permissions.has(permission) &&
      // `patient/` scopes only mean something with a patient in context.
      (g.context !== 'patient' || actor.patient !== undefined),
  );
}

/** 403 `INSUFFICIENT_SCOPE`, with the RFC 6750 `WWW-Authenticate` challenge naming the scope. */
export function insufficientScope(scope: string): OperationOutcomeError {
  return new OperationOutcomeError(
    {
      status: 403,
      code: ErrorCode.INSUFFICIENT_SCOPE,
      issueType: 'forbidden',
      diagnostics: `The token lacks the scope this request needs: ${scope} (or its patient/ or system/ form)`,
    },
    { 'WWW-Authenticate': `Bearer realm="fhir", error="insufficient_scope", scope="${scope}"` },
  );
}

// Type-level interactions that would reach outside a compartment; refused to compartment-bound actors.
const OUTSIDE_COMPARTMENT = new Set(['history-type', '$deleted']);

/**
 * Checks that the actor may perform `interaction` on `resourceType`: the role the interaction needs
 * (403 `FORBIDDEN`) and a SMART scope granting its permission (403 `INSUFFICIENT_SCOPE`). Unknown
 * interactions are refused. Compartment limits on *which* patients are checked by the handlers
 * (see `compartment.ts`). For `transaction`/`batch` only some grant is required here; the bundle
 * processor authorizes each entry.
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */
export function authorize(actor: Actor, interaction: string, resourceType: string): void {
  if (interaction === 'transaction' || interaction === 'batch') {
    if (grantsOf(actor).length === 0) throw insufficientScope(scopeNeeded('Patient', 'r'));
    return;
  }
  const requirement = REQUIREMENTS[resourceType]?.[interaction];
  if (!requirement) throw errors.forbidden(ErrorCode.FORBIDDEN, 'This interaction is not permitted');
  if (requirement.roles && !requirement.roles.some((role) => actor.roles.includes(role))) {
    if (!(requirement.patientContextAllowed && actor.patient !== undefined)) {
      throw errors.forbidden(ErrorCode.FORBIDDEN, `This interaction needs the role ${requirement.roles.join(' or ')}`);
    }
  }
  if (isConfined(actor) && resourceType === 'Patient' && OUTSIDE_COMPARTMENT.has(interaction)) {
    throw errors.forbidden(ErrorCode.FORBIDDEN, 'This interaction is not available to a compartment-limited token');
  }
  if (actor.patient !== undefined && resourceType === 'Patient' && interaction === 'create') {
    throw errors.forbidden(ErrorCode.FORBIDDEN, 'A patient-context token cannot create patients');
  }
  if (!hasPermission(actor, resourceType, requirement.permission)) {
    throw insufficientScope(scopeNeeded(resourceType, requirement.permission));
  }
}

/**
 * The resource type a route acts on, from its Express path: `/fhir/AuditEvent/...` → `AuditEvent`;
 * Patient routes and the `$job` status of Patient operations → `Patient`; the system endpoint → `*`.
 */
export function resourceTypeOfRoute(path: string): string {
  const first = path.split('/')[2] ?? '';
  if (first === '' || first.startsWith(':')) return '*';
  if (first === '$job') return 'Patient';
  return first;
}
