import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { Patient } from 'fhir/r4.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { RequestContext } from '../context/request-context.js';
import type { PatientDeps } from '../patient/deps.js';
import { errors, ErrorCode } from '../fhir/outcome.js';
import { assertFhirId } from '../fhir/id.js';
import { validatePatient } from '../patient/validation/validate-patient.js';
import { assertNoForbiddenKeys, assertNoForbiddenPointerSegments } from '../patient/validation/forbidden-keys.js';
import { serverManagedExtensions, withoutUnchangedServerManaged } from '../patient/server-managed.js';
import { assertPatientInCompartment } from '../auth/compartment.js';
import { expectedVersion } from '../patient/handlers/update-patient.js';
import { writeNextVersion } from './next-version.js';

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
/** Most operations a patch may carry: far beyond a real edit, small enough to bound the work. */
const MAX_OPERATIONS = 1000;

/** Failures of the patch itself (malformed document) as opposed to failures applying it. */
const MALFORMED = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

/**
 * `PATCH /fhir/Patient/{id}` with `application/json-patch+json` (RFC 6902;
 * https://hl7.org/fhir/R4/http.html#patch). The patch is applied to the current version and the
 * result goes through the same validation and write as an update (`If-Match` rules included).
 *
 * - 400 `INVALID_PATCH`: not an array of RFC 6902 operations; 400 `FORBIDDEN_KEY` for
 *   `__proto__`/`constructor`/`prototype` in a path or value;
 * - 422 `SERVER_MANAGED_FIELD`: an operation that changes `/id`, `/meta` or a server-managed
 *   extension (`test` may read them);
 * - 422 `PATCH_FAILED`: a `test` operation failed, or a path does not exist in the resource;
 * - 400/422 from validation of the patched Patient; 404/410/412/428 as for an update.
 */
export async function patchPatientHandler(req: FhirRequest, ctx: RequestContext, deps: PatientDeps): Promise<FhirResponse> {
  const id = assertFhirId(req.params.id);
  const operations = checkedOperations(req.body);
  const expected = expectedVersion(req, deps.requireIfMatch);
  const now = ctx.clock.now();
  const current = await deps.store.read(id);
  if (!current) throw errors.notFound();
  assertPatientInCompartment(ctx.actor, current.resource);
  if (current.state !== 'active') throw errors.gone();

  const patched = applyOperations(structuredClone(current.resource), operations);
  if (JSON.stringify(serverManagedExtensions(patched)) !== JSON.stringify(serverManagedExtensions(current.resource))) {
    throw errors.unprocessable(ErrorCode.SERVER_MANAGED_FIELD, 'A patch may not change server-managed extensions', ['Patient.extension']);
  }
  const incoming = validatePatient(withoutUnchangedServerManaged(patched, current.resource), { now, mode: 'update' });
  return writeNextVersion({
    store: deps.store,
    actor: ctx.actor,
    now,
    uniqueContacts: deps.uniqueContacts,
    current,
    incoming,
    expectedVersions: [expected],
  });
}

/** Shape, forbidden keys and server-managed paths of each operation, before anything is applied. */
function checkedOperations(body: unknown): Operation[] {
  if (!Array.isArray(body)) throw invalidPatch('A JSON Patch must be an array of operations');
  if (body.length > MAX_OPERATIONS) throw invalidPatch(`A JSON Patch may hold at most ${MAX_OPERATIONS} operations`);
  body.forEach((op: unknown, i) => {
    const where = `Patch[${i}]`;
    if (op === null || typeof op !== 'object' || Array.isArray(op)) throw invalidPatch(`${where} is not an operation object`, where);
    const { op: kind, path, from, value } = op as Record<string, unknown>;
    if (typeof kind !== 'string' || !OPS.has(kind)) throw invalidPatch(`${where}.op is not an RFC 6902 operation`, `${where}.op`);
    if (typeof path !== 'string') throw invalidPatch(`${where}.path must be a JSON Pointer`, `${where}.path`);
    assertNoForbiddenPointerSegments(path, `${where}.path`);
    if (from !== undefined) {
      if (typeof from !== 'string') throw invalidPatch(`${where}.from must be a JSON Pointer`, `${where}.from`);
      assertNoForbiddenPointerSegments(from, `${where}.from`);
    }
    assertNoForbiddenKeys(value, `${where}.value`);
    if (kind === 'test') return;
    const changed = kind === 'move' ? [path, from as string] : [path];
    if (changed.some(touchesServerManaged)) {
      throw errors.unprocessable(ErrorCode.SERVER_MANAGED_FIELD, `${where} would change id or meta, which are the server's`, [
        `${where}.path`,
      ]);
    }
  });
  return body as Operation[];
}

/** Whether a pointer is (or contains) `/id` or `/meta`; the root pointer `''` contains both. */
function touchesServerManaged(pointer: string): boolean {
  return pointer === '' || /^\/(id|meta)(\/|$)/.test(pointer);
}

function applyOperations(document: Patient, operations: Operation[]): Patient {
  try {
    // validate each operation, mutate the (cloned) document, refuse prototype modifications
    return jsonpatch.applyPatch(document, operations, true, true, true).newDocument;
  } catch (err) {
    if (!(err instanceof jsonpatch.JsonPatchError)) throw invalidPatch('The patch could not be applied');
    // the library's message quotes the operation (values are PHI): only its index and kind are reported
    const where = `Patch[${err.index ?? 0}]`;
    if (MALFORMED.has(err.name)) throw invalidPatch(`${where} is not a valid RFC 6902 operation`, where);
    if (err.name === 'TEST_OPERATION_FAILED') {
      throw errors.unprocessable(ErrorCode.PATCH_FAILED, `${where}: the test operation failed`, [where]);
    }
    throw errors.unprocessable(ErrorCode.PATCH_FAILED, `${where} cannot be applied to the current version`, [where]);
  }
}

function invalidPatch(diagnostics: string, expression?: string) {
  return errors.badRequest(ErrorCode.INVALID_PATCH, diagnostics, expression ? [expression] : undefined);
}
