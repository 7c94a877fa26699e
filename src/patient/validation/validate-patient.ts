import type { Patient } from 'fhir/r4.js';
import { ErrorCode, OperationOutcomeError, errors } from '../../fhir/outcome.js';
import { applyAddressRules } from './address-rules.js';
import { applyLanguageRules, applyNameRules, applyServerManagedRules, applyTelecomRules } from './business-rules.js';
import { applyDateRules } from './date-rules.js';
import { assertNoForbiddenKeys } from './forbidden-keys.js';
import type { RuleContext } from './rule-context.js';
import { assertPatientSchema, assertSingleChoiceVariants } from './schema-validator.js';

/** Options of {@link validatePatient}. */
export interface ValidatePatientOptions {
  /** Time of the request (from the injected clock): birth and death dates are checked against it. */
  now: Date;
  /** `create` refuses a client `meta.versionId`; both modes refuse server-managed extensions. */
  mode: 'create' | 'update';
}

/**
 * Validates a client's Patient body (SPEC §5) and returns a new, normalized Patient: names trimmed,
 * whitespace-collapsed and NFC; e-mails lower-case; phones E.164; countries upper-case; postal
 * codes trimmed. The input is not modified. `id` and `meta` are left as sent: the handler sets them.
 *
 * In order, each step stopping at its first failure unless noted:
 * 1. 400 INVALID_RESOURCE — not a JSON object, or nested too deep;
 * 2. 400 FORBIDDEN_KEY — `__proto__`, `constructor` or `prototype` anywhere;
 * 3. 400 WRONG_RESOURCE_TYPE — `resourceType` is not `Patient`;
 * 4. 400 INVALID_RESOURCE — the official R4 JSON schema (https://hl7.org/fhir/R4/json.html),
 *    unknown elements included, and one variant per choice element;
 * 5. 422 SERVER_MANAGED_FIELD / BUSINESS_RULE — every violation, reported together as the issues of
 *    one OperationOutcome.
 *
 * @throws OperationOutcomeError with status 400 or 422, never anything else.
 */
export function validatePatient(input: unknown, options: ValidatePatientOptions): Patient {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw errors.invalidResource('The body must be a JSON object (a FHIR Patient resource)', ['Patient']);
  }
  assertNoForbiddenKeys(input, 'Patient');
  const resourceType = (input as Record<string, unknown>).resourceType;
  if (resourceType !== 'Patient') {
    throw errors.badRequest(
      ErrorCode.WRONG_RESOURCE_TYPE,
      typeof resourceType === 'string' ? 'resourceType must be Patient' : 'resourceType is missing or not a string',
      ['Patient.resourceType'],
    );
  }
  assertPatientSchema(input);
  assertSingleChoiceVariants(input as Record<string, unknown>);

  const draft = copyJson(input) as Patient;
  const ctx: RuleContext = { now: options.now, mode: options.mode, problems: [] };
  applyServerManagedRules(draft, ctx);
  applyNameRules(draft, ctx);
  applyDateRules(draft, ctx);
  // Addresses before telecom: national phone numbers take the first address's (normalized) country.
  applyAddressRules(draft, ctx);
  applyTelecomRules(draft, ctx);
  applyLanguageRules(draft, ctx);
  if (ctx.problems.length > 0) throw new OperationOutcomeError(ctx.problems);
  return draft;
}

/**
 * Deep copy of parsed JSON (plain objects, arrays, primitives) — several times faster than
 * `structuredClone` on a Patient. Depth is already bounded by {@link assertNoForbiddenKeys}.
 */
function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = copyJson((value as Record<string, unknown>)[key]);
  return copy;
}
