import { expect } from 'chai';
import { OperationOutcomeError } from '../../../src/fhir/outcome.js';
import {
  assertNoForbiddenKeys,
  assertNoForbiddenPointerSegments,
  isForbiddenKey,
} from '../../../src/patient/validation/forbidden-keys.js';

function thrown(fn: () => void): OperationOutcomeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

describe('assertNoForbiddenKeys', () => {
  it('accepts ordinary nested content', () => {
    expect(() => assertNoForbiddenKeys({ a: [{ b: { c: [1, 'x', null] } }], proto: 1, Constructor: 2 }, 'Patient')).not.to.throw();
  });

  it('finds an own __proto__ created by JSON.parse, with its path', () => {
    const err = thrown(() => assertNoForbiddenKeys(JSON.parse('{"a":[{"b":1},{"__proto__":{"x":1}}]}'), 'Patient'));
    expect(err.status).to.equal(400);
    expect(err.code).to.equal('FORBIDDEN_KEY');
    expect(err.issues[0]!.expression).to.deep.equal(['Patient.a[1].__proto__']);
  });

  for (const key of ['constructor', 'prototype']) {
    it(`refuses ${key} at the top level`, () => {
      const err = thrown(() => assertNoForbiddenKeys(JSON.parse(`{"${key}":1}`), 'query'));
      expect(err.issues[0]!.expression).to.deep.equal([`query.${key}`]);
    });
  }

  it('does not spell out odd client keys in the path', () => {
    const err = thrown(() => assertNoForbiddenKeys(JSON.parse('{"Jane Doe":{"prototype":1}}'), 'Patient'));
    expect(err.issues[0]!.expression).to.deep.equal(['Patient[?].prototype']);
  });

  it('refuses nesting past the depth limit without overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const err = thrown(() => assertNoForbiddenKeys({ a: deep }, 'Patient'));
    expect(err.status).to.equal(400);
    expect(err.code).to.equal('INVALID_RESOURCE');
  });

  it('honours a custom depth limit', () => {
    expect(() => assertNoForbiddenKeys({ a: { b: { c: 1 } } }, 'x', { maxDepth: 1 })).to.throw(OperationOutcomeError);
    expect(() => assertNoForbiddenKeys({ a: { b: { c: 1 } } }, 'x', { maxDepth: 2 })).not.to.throw();
  });
});

describe('assertNoForbiddenPointerSegments', () => {
  it('refuses a JSON Patch path through __proto__', () => {
    const err = thrown(() => assertNoForbiddenPointerSegments('/name/0/__proto__/x', 'Patch[0].path'));
    expect(err.code).to.equal('FORBIDDEN_KEY');
    expect(err.issues[0]!.expression).to.deep.equal(['Patch[0].path']);
  });

  it('accepts ordinary paths, escaped or not', () => {
    expect(() => assertNoForbiddenPointerSegments('/name/0/given/-', 'p')).not.to.throw();
    expect(() => assertNoForbiddenPointerSegments('/a~1b/c~0d', 'p')).not.to.throw();
  });
});

describe('isForbiddenKey', () => {
  it('knows the three keys, case-sensitively', () => {
    expect(['__proto__', 'constructor', 'prototype'].every(isForbiddenKey)).to.equal(true);
    expect(isForbiddenKey('Constructor')).to.equal(false);
  });
});

describe('assertNoForbiddenKeys on hand-built values', () => {
  it('refuses a named forbidden key on an array', () => {
    const list: unknown[] = [1];
    Object.defineProperty(list, 'constructor', { value: {}, enumerable: true });
    const err = thrown(() => assertNoForbiddenKeys({ a: list }, 'Patient'));
    expect(err.issues[0]!.expression).to.deep.equal(['Patient.a.constructor']);
  });
});
