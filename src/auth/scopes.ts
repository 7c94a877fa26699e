/**
 * SMART on FHIR scopes, v1 (`patient/Patient.read`) and v2 (`user/Patient.cruds`), and what each
 * FHIR interaction needs. https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */

/** A SMART v2 permission letter: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** Who the scope acts for: a patient in context, the signed-in user, or a backend service. */
export type ScopeContext = 'patient' | 'user' | 'system';

/** Resource types this server grants scopes for; `*` means every type. */
export const SCOPED_RESOURCE_TYPES = ['Patient', 'AuditEvent', '*'] as const;
export type ScopedResourceType = (typeof SCOPED_RESOURCE_TYPES)[number];

/** One recognised resource scope. */
export interface ResourceScope {
  context: ScopeContext;
  resourceType: ScopedResourceType;
  permissions: ReadonlySet<Permission>;
}

const V1_PERMISSIONS: Record<string, Permission[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};
// `c r u d s` in this order, each at most once, at least one (SMART v2 §3.1.1).
const V2_LETTERS = /^(?=[cruds])c?r?u?d?s?$/;
const SCOPE = /^(patient|user|system)\/([A-Za-z*]{1,64})\.([a-z*]{1,5})$/;

/**
 * Parses one scope string; anything that is not a resource scope this server knows (`openid`,
 * `launch`, v2 granular scopes with `?`, other resource types, misspellings) is `undefined` and
 * so grants nothing.
 */
export function parseScope(scope: string): ResourceScope | undefined {
  const m = SCOPE.exec(scope);
  if (!m) return undefined;
  const resourceType = m[2] as ScopedResourceType;
  if (!SCOPED_RESOURCE_TYPES.includes(resourceType)) return undefined;
  const access = m[3]!;
  const permissions = (Object.hasOwn(V1_PERMISSIONS, access) ? V1_PERMISSIONS[access] : undefined) ?? (V2_LETTERS.test(access) ? ([...access] as Permission[]) : undefined);
  if (!permissions) return undefined;
  return { context: m[1] as ScopeContext, resourceType, permissions: new Set(permissions) };
}

/** Splits a `scope` claim (space-separated) into the resource scopes it grants; junk is dropped. */
export function parseScopes(scopes: readonly string[]): ResourceScope[] {
  const out: ResourceScope[] = [];
  for (const scope of scopes) {
    const parsed = parseScope(scope);
    if (parsed) out.push(parsed);
  }
  return out;
}

/** What an interaction needs: a scope permission, and possibly one of some roles. */
export interface Requirement {
  permission: Permission;
  /** When set, the actor must hold one of these roles. */
  roles?: readonly string[];
  /** Patient-context tokens may use it (their handler confines them to their own record). */
  patientContextAllowed?: boolean;
}

const ADMIN = ['admin'] as const;
const AUDITORS = ['auditor', 'admin'] as const;

/**
 * What each FHIR interaction or operation needs (https://hl7.org/fhir/R4/http.html). Operations
 * are admin-only; the AuditEvent trail needs role `auditor` or `admin`, except that a
 * patient-context token may read the events about its own record (SPEC §8). An interaction not in
 * this table is refused (fail closed).
 */
export const REQUIREMENTS: Readonly<Record<string, Readonly<Record<string, Requirement>>>> = {
  Patient: {
    read: { permission: 'r' },
    vread: { permission: 'r' },
    'history-instance': { permission: 'r' },
    'history-type': { permission: 'r' },
    'search-type': { permission: 's' },
    create: { permission: 'c' },
    update: { permission: 'u' },
    patch: { permission: 'u' },
    delete: { permission: 'd' },
    $deleted: { permission: 's', roles: ADMIN },
    $restore: { permission: 'u', roles: ADMIN },
    $anonymize: { permission: 'u', roles: ADMIN },
    '$investigation-start': { permission: 'u', roles: ADMIN },
    '$investigation-end': { permission: 'u', roles: ADMIN },
    $job: { permission: 'r', roles: ADMIN },
  },
  AuditEvent: {
    read: { permission: 'r', roles: AUDITORS, patientContextAllowed: true },
    'search-type': { permission: 's', roles: AUDITORS, patientContextAllowed: true },
    $verify: { permission: 'r', roles: AUDITORS },
  },
};

/** The scope string that would grant `permission` on `resourceType`, for error messages. */
export function scopeNeeded(resourceType: string, permission: Permission): string {
  return `user/${resourceType}.${permission}`;
}
