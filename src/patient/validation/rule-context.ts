import { ErrorCode, type Problem } from '../../fhir/outcome.js';

/** What every business rule receives: the time of the request and where to report violations. */
export interface RuleContext {
  /** The request's time (from the injected clock). */
  now: Date;
  mode: 'create' | 'update';
  /** Violations found so far; all are reported together in one OperationOutcome. */
  problems: Problem[];
}

/** A 422 BUSINESS_RULE violation (https://hl7.org/fhir/R4/http.html#2.21.0.10.1: 422 Unprocessable Entity). */
export function ruleViolation(diagnostics: string, expression: string): Problem {
  return { status: 422, code: ErrorCode.BUSINESS_RULE, issueType: 'business-rule', diagnostics, expression: [expression] };
}

/** A 422 SERVER_MANAGED_FIELD violation: the client sent something only the server may write. */
export function serverManagedViolation(diagnostics: string, expression: string): Problem {
  return { status: 422, code: ErrorCode.SERVER_MANAGED_FIELD, issueType: 'business-rule', diagnostics, expression: [expression] };
}
