import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';

/** System of the stable machine codes carried in `issue.details.coding`. */
export const ERROR_CODE_SYSTEM = 'http://fhir-patient-server.example/fhir/CodeSystem/error-code';

/**
 * Every stable error code the server answers with. Clients may switch on these; they never change
 * meaning. The list is documented in docs/decisions.md.
 */
export const ErrorCode = {
  MALFORMED_JSON: 'MALFORMED_JSON',
  INVALID_RESOURCE: 'INVALID_RESOURCE',
  WRONG_RESOURCE_TYPE: 'WRONG_RESOURCE_TYPE',
  ID_MISMATCH: 'ID_MISMATCH',
  INVALID_ID: 'INVALID_ID',
  SERVER_MANAGED_FIELD: 'SERVER_MANAGED_FIELD',
  BUSINESS_RULE: 'BUSINESS_RULE',
  FORBIDDEN_KEY: 'FORBIDDEN_KEY',
  INVALID_PARAMETER: 'INVALID_PARAMETER',
  UNKNOWN_PARAMETER: 'UNKNOWN_PARAMETER',
  INVALID_CURSOR: 'INVALID_CURSOR',
  INVALID_HEADER: 'INVALID_HEADER',
  NOT_FOUND: 'NOT_FOUND',
  UNKNOWN_ROUTE: 'UNKNOWN_ROUTE',
  UNSUPPORTED_RESOURCE_TYPE: 'UNSUPPORTED_RESOURCE_TYPE',
  VERSION_NOT_FOUND: 'VERSION_NOT_FOUND',
  GONE: 'GONE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  IF_MATCH_REQUIRED: 'IF_MATCH_REQUIRED',
  DUPLICATE_IDENTIFIER: 'DUPLICATE_IDENTIFIER',
  DUPLICATE_CONTACT: 'DUPLICATE_CONTACT',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  MULTIPLE_MATCHES: 'MULTIPLE_MATCHES',
  INVALID_PATCH: 'INVALID_PATCH',
  PATCH_FAILED: 'PATCH_FAILED',
  INVALID_BUNDLE: 'INVALID_BUNDLE',
  UNRESOLVED_REFERENCE: 'UNRESOLVED_REFERENCE',
  UNDER_INVESTIGATION: 'UNDER_INVESTIGATION',
  NOT_UNDER_INVESTIGATION: 'NOT_UNDER_INVESTIGATION',
  NOT_DELETED: 'NOT_DELETED',
  ALREADY_ANONYMIZED: 'ALREADY_ANONYMIZED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  INSUFFICIENT_SCOPE: 'INSUFFICIENT_SCOPE',
  RATE_LIMITED: 'RATE_LIMITED',
  READ_ONLY: 'READ_ONLY',
  NOT_READY: 'NOT_READY',
  AUDIT_UNAVAILABLE: 'AUDIT_UNAVAILABLE',
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

type IssueType = OperationOutcomeIssue['code'];
type Severity = OperationOutcomeIssue['severity'];

/** One problem, before it is rendered as an OperationOutcome issue. */
export interface Problem {
  status: number;
  code: ErrorCode;
  issueType: IssueType;
  diagnostics: string;
  /** FHIRPath of the offending element(s), e.g. `Patient.name[0].given[0]`. */
  expression?: string[];
  severity?: Severity;
}

/**
 * The one error type of the server. Handlers and stores throw it; the HTTP layer renders it as an
 * OperationOutcome with `status`. Diagnostics must never contain PHI (no values from the request).
 */
export class OperationOutcomeError extends Error {
  readonly status: number;
  readonly issues: Problem[];
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  constructor(problem: Problem | Problem[], headers: Record<string, string> = {}) {
    const issues = Array.isArray(problem) ? problem : [problem];
    const first = issues[0];
    if (!first) throw new TypeError('OperationOutcomeError needs at least one issue');
    super(first.diagnostics);
    this.name = 'OperationOutcomeError';
    this.status = first.status;
    this.issues = issues;
    this.headers = headers;
  }

  get code(): ErrorCode {
    return this.issues[0]!.code;
  }

  toOperationOutcome(): OperationOutcome {
    return operationOutcome(this.issues);
  }
}

/** Renders problems as a FHIR OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html). */
export function operationOutcome(problems: Omit<Problem, 'status'>[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: problems.map((p) => ({
      severity: p.severity ?? 'error',
      code: p.issueType,
      details: { coding: [{ system: ERROR_CODE_SYSTEM, code: p.code }], text: p.diagnostics },
      diagnostics: p.diagnostics,
      ...(p.expression?.length ? { expression: p.expression } : {}),
    })),
  };
}

/** An informational OperationOutcome (e.g. for `Prefer: return=OperationOutcome`). */
export function informational(diagnostics: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', diagnostics }],
  };
}

function problem(status: number, code: ErrorCode, issueType: IssueType, diagnostics: string, expression?: string[]) {
  return new OperationOutcomeError({ status, code, issueType, diagnostics, ...(expression ? { expression } : {}) });
}

/** Constant outcomes, after Medplum's `badRequest`, `notFound`, … */
export const errors = {
  badRequest: (code: ErrorCode, diagnostics: string, expression?: string[]) =>
    problem(400, code, 'invalid', diagnostics, expression),
  invalidResource: (diagnostics: string, expression?: string[]) =>
    problem(400, ErrorCode.INVALID_RESOURCE, 'structure', diagnostics, expression),
  businessRule: (diagnostics: string, expression?: string[]) =>
    problem(422, ErrorCode.BUSINESS_RULE, 'business-rule', diagnostics, expression),
  unprocessable: (code: ErrorCode, diagnostics: string, expression?: string[]) =>
    problem(422, code, 'business-rule', diagnostics, expression),
  notFound: (diagnostics = 'Resource not found') => problem(404, ErrorCode.NOT_FOUND, 'not-found', diagnostics),
  unknownRoute: () => problem(404, ErrorCode.UNKNOWN_ROUTE, 'not-found', 'No such route on this FHIR server'),
  unsupportedResourceType: () =>
    problem(404, ErrorCode.UNSUPPORTED_RESOURCE_TYPE, 'not-supported', 'This resource type is not supported by this server'),
  versionNotFound: () => problem(404, ErrorCode.VERSION_NOT_FOUND, 'not-found', 'Version not found'),
  gone: (diagnostics = 'Resource has been deleted') => problem(410, ErrorCode.GONE, 'deleted', diagnostics),
  conflict: (code: ErrorCode, diagnostics: string, expression?: string[]) =>
    problem(409, code, 'conflict', diagnostics, expression),
  duplicate: (code: ErrorCode, diagnostics: string, expression?: string[]) =>
    problem(409, code, 'duplicate', diagnostics, expression),
  preconditionFailed: (code: ErrorCode, diagnostics: string) => problem(412, code, 'conflict', diagnostics),
  preconditionRequired: () =>
    problem(428, ErrorCode.IF_MATCH_REQUIRED, 'required', 'If-Match is required for updates (REQUIRE_IF_MATCH)'),
  methodNotAllowed: (diagnostics = 'Method not allowed') =>
    problem(405, ErrorCode.METHOD_NOT_ALLOWED, 'not-supported', diagnostics),
  unsupportedMediaType: (diagnostics = 'Content-Type must be application/fhir+json or application/json') =>
    problem(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'not-supported', diagnostics),
  notAcceptable: () => problem(406, ErrorCode.NOT_ACCEPTABLE, 'not-supported', 'Only JSON is supported'),
  payloadTooLarge: (diagnostics = 'Request body is too large') =>
    problem(413, ErrorCode.PAYLOAD_TOO_LARGE, 'too-costly', diagnostics),
  unauthorized: (diagnostics: string) =>
    new OperationOutcomeError(
      { status: 401, code: ErrorCode.UNAUTHORIZED, issueType: 'login', diagnostics },
      { 'WWW-Authenticate': 'Bearer realm="fhir"' },
    ),
  forbidden: (code: ErrorCode, diagnostics: string) => problem(403, code, 'forbidden', diagnostics),
  unavailable: (code: ErrorCode, diagnostics: string) => problem(503, code, 'transient', diagnostics),
  internal: () => problem(500, ErrorCode.INTERNAL, 'exception', 'Internal server error'),
} as const;

/** Whether a value is the server's error type (also across module copies). */
export function isOperationOutcomeError(err: unknown): err is OperationOutcomeError {
  return err instanceof OperationOutcomeError;
}
