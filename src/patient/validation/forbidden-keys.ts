import { ErrorCode, OperationOutcomeError, errors } from '../../fhir/outcome.js';

/**
 * Keys that could reach an object's prototype chain when a body is merged, patched or copied
 * carelessly. Refused anywhere in a body, a JSON Patch path or a query (SPEC §9), whatever FHIR says.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Default nesting limit of {@link assertNoForbiddenKeys}: far beyond any real Patient, far below a stack overflow. */
export const DEFAULT_MAX_DEPTH = 64;

/** Whether `key` is one of {@link FORBIDDEN_KEYS}. */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  /** Property name or array index under `parent`. */
  key: string | number | undefined;
}

/**
 * Walks `value` (objects and arrays, at any depth, without recursion) and throws 400 FORBIDDEN_KEY
 * on the first own key `__proto__`, `constructor` or `prototype`. `JSON.parse` creates `__proto__`
 * as an own property, so own keys are listed with `Object.keys`, never `in`.
 *
 * Also throws 400 INVALID_RESOURCE when nesting exceeds `maxDepth`, so hostile bodies cannot make
 * later (recursive) validation overflow the stack.
 *
 * @param pathPrefix - FHIRPath of `value` itself, e.g. `Patient`; the error's `expression` extends it.
 */
export function assertNoForbiddenKeys(value: unknown, pathPrefix: string, options: { maxDepth?: number } = {}): void {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const current = frame.value;
    if (current === null || typeof current !== 'object') continue;
    if (frame.depth > maxDepth) {
      throw new OperationOutcomeError({
        status: 400,
        code: ErrorCode.INVALID_RESOURCE,
        issueType: 'too-costly',
        diagnostics: `Content is nested deeper than ${maxDepth} levels`,
        expression: [pathOf(frame, pathPrefix)],
      });
    }
    if (Array.isArray(current)) {
      // JSON.parse never puts named keys on an array, but a patched or hand-built value might.
      for (const key of FORBIDDEN_KEYS) {
        if (Object.hasOwn(current, key)) throw forbidden(key, `${pathOf(frame, pathPrefix)}.${key}`);
      }
      for (let i = current.length - 1; i >= 0; i--) {
        stack.push({ value: current[i], depth: frame.depth + 1, parent: frame, key: i });
      }
      continue;
    }
    for (const key of Object.keys(current)) {
      if (FORBIDDEN_KEYS.has(key)) throw forbidden(key, `${pathOf(frame, pathPrefix)}.${key}`);
      stack.push({ value: (current as Record<string, unknown>)[key], depth: frame.depth + 1, parent: frame, key });
    }
  }
}

/**
 * Throws 400 FORBIDDEN_KEY when a JSON Pointer (RFC 6901, as in JSON Patch `path`/`from`) has a
 * forbidden segment.
 *
 * @param expression - what to report as the issue's `expression` (e.g. `Parameters.operation[2].path`).
 */
export function assertNoForbiddenPointerSegments(pointer: string, expression: string): void {
  for (const raw of pointer.split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (FORBIDDEN_KEYS.has(segment)) {
      throw errors.badRequest(ErrorCode.FORBIDDEN_KEY, `The key '${segment}' is not allowed in a path`, [expression]);
    }
  }
}

function forbidden(key: string, expression: string): OperationOutcomeError {
  return errors.badRequest(ErrorCode.FORBIDDEN_KEY, `The key '${key}' is not allowed anywhere in a request`, [expression]);
}

/**
 * FHIRPath-like location of a frame. Keys are the client's own strings: only plain element names are
 * spelled out, anything else is shown as `[?]` so no client text lands in the error.
 */
function pathOf(frame: Frame, prefix: string): string {
  const parts: string[] = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) {
    if (typeof f.key === 'number') parts.push(`[${f.key}]`);
    else parts.push(ELEMENT_NAME.test(f.key ?? '') ? `.${f.key}` : '[?]');
  }
  return prefix + parts.reverse().join('');
}

const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
