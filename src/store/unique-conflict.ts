import { errors, OperationOutcomeError, type Problem } from '../fhir/outcome.js';
import { uniqueKeyConflictCode, type UniqueKey } from './port.js';

type UniqueKind = UniqueKey['kind'];

/** The order conflicts are reported in: the identifier first, then contacts. */
const KIND_ORDER: readonly UniqueKind[] = ['identifier', 'email', 'phone'];

const DIAGNOSTICS: Record<UniqueKind, string> = {
  identifier: 'Another patient already has an identifier with this system and value',
  email: 'Another patient already has this email address',
  phone: 'Another patient already has this phone number',
};

const EXPRESSION: Record<UniqueKind, string> = {
  identifier: 'Patient.identifier',
  email: 'Patient.telecom',
  phone: 'Patient.telecom',
};

/**
 * The storage key of a uniqueness claim, `${kind}|${value}` — one string both engines index
 * (SQLite `patient_unique.key`, MongoDB a unique index).
 */
export function uniqueKeyId(key: UniqueKey): string {
  return `${key.kind}|${key.value}`;
}

/**
 * The 409 error for taken unique keys (SPEC §5; https://hl7.org/fhir/R4/http.html#create):
 * one `duplicate` issue per conflicting kind, code from {@link uniqueKeyConflictCode}.
 * Diagnostics name the kind only — never the value, which is PHI.
 */
export function uniqueKeyConflict(kinds: Iterable<UniqueKind>): OperationOutcomeError {
  const taken = new Set(kinds);
  const problems: Problem[] = KIND_ORDER.filter((kind) => taken.has(kind)).map((kind) => ({
    status: 409,
    code: uniqueKeyConflictCode[kind],
    issueType: 'duplicate',
    diagnostics: DIAGNOSTICS[kind],
    expression: [EXPRESSION[kind]],
  }));
  if (problems.length === 0) return errors.internal();
  return new OperationOutcomeError(problems);
}
