import { expect } from 'chai';
import { OperationOutcomeError } from '../../../src/fhir/outcome.js';
import { warmUpSchema } from '../../../src/patient/validation/schema-validator.js';
import { validatePatient } from '../../../src/patient/validation/validate-patient.js';
import { loadSyntheaPatients } from './synthea.js';
import { seededRandom as random } from '../../support/random.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

/** Well-typed but often rule-breaking strings, so business rules (422) get exercised too. */
const TEXTS = ['John3', '  Ann   Lee ', '2030-01-01', '1890', 'ZZ', 'us', 'not-an-email', 'A@B.ORG', '+1 555 555 5555', '(508) 555-0123', 'en_US', 'SW1A 1AA', '0235', 'soft-deleted'];

const KEYS = ['foo', 'id', 'extension', 'given', '_birthDate', 'valueString', 'url', 'value', 'system', '__proto__', 'constructor', 'prototype', '', '💥'];

function fuzzer(next: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const nested = (depth: number): Json => (depth === 0 ? pick([1, 'x', null]) : [nested(depth - 1)]);
  const hugeString = (): string => pick(['a', '9', 'é', ' ', '+', '@', '\u0000', '😀']).repeat(1 + Math.floor(next() * 200_000));
  const value = (): Json =>
    pick<() => Json>([
      () => null,
      () => next() > 0.5,
      () => Math.floor(next() * 1e6) - 5e5,
      () => next() * 1e308,
      () => pick(['', ' ', 'Patient', '2020-02-30', '+15085550123', 'a@b.org', 'US', 'John3', 'urn:ietf:bcp:47']),
      hugeString,
      () => [],
      () => ({}),
      () => nested(1 + Math.floor(next() * 200)),
      () => [value(), value()],
      () => ({ [pick(KEYS)]: value() }),
    ])();

  function containers(root: Container): Container[] {
    const found: Container[] = [root];
    for (let i = 0; i < found.length; i++) {
      for (const child of Object.values(found[i]!)) if (child !== null && typeof child === 'object') found.push(child);
    }
    return found;
  }

  function setOwn(target: Container, key: string, v: Json): void {
    // defineProperty, so `__proto__` becomes an own key as JSON.parse would make it.
    Object.defineProperty(target, key, { value: v, enumerable: true, writable: true, configurable: true });
  }

  function mutate(root: Container, textOnly: boolean): void {
    const target = pick(containers(root));
    const keys = Object.keys(target);
    const key = keys.length > 0 ? pick(keys) : undefined;
    switch (textOnly ? 'retext' : pick(['swap', 'delete', 'add', 'copy', 'retext'] as const)) {
      case 'retext': {
        const texts = keys.filter((k) => typeof (target as Record<string, Json>)[k] === 'string');
        if (texts.length > 0) setOwn(target, pick(texts), pick(TEXTS));
        break;
      }
      case 'swap':
        if (key !== undefined) setOwn(target, key, value());
        break;
      case 'delete':
        if (key === undefined) break;
        if (Array.isArray(target)) target.splice(Number(key), 1);
        else delete target[key];
        break;
      case 'add':
        if (Array.isArray(target)) target.push(value());
        else setOwn(target, pick(KEYS), value());
        break;
      case 'copy':
        if (key !== undefined) setOwn(pick(containers(root)), pick(KEYS), structuredClone((target as Record<string, Json>)[key]!));
        break;
    }
  }
  return { pick, mutate };
}

describe('validatePatient under random mutations', () => {
  before(() => warmUpSchema());

  it('throws nothing but 400/422 OperationOutcomeErrors, and its output validates unchanged', () => {
    const patients = loadSyntheaPatients() as unknown as Container[];
    const now = new Date('2026-01-01T00:00:00Z');
    const seen = { accepted: 0, 400: 0, 422: 0 };
    for (let seed = 1; seed <= 500; seed++) {
      const { pick, mutate } = fuzzer(random(seed));
      const body = structuredClone(pick(patients));
      const rounds = 1 + (seed % 4);
      // Every third case changes only string values, so the business rules (422) get their share.
      for (let i = 0; i < rounds; i++) mutate(body, seed % 3 === 0);
      try {
        const output = validatePatient(body, { now, mode: seed % 2 ? 'create' : 'update' });
        expect(validatePatient(output, { now, mode: 'update' }), `seed ${seed}`).to.deep.equal(output);
        seen.accepted++;
      } catch (err) {
        if (!(err instanceof OperationOutcomeError)) throw new Error(`seed ${seed}: ${String(err)}`);
        expect([400, 422], `seed ${seed}`).to.include(err.status);
        for (const issue of err.toOperationOutcome().issue) expect(issue.expression, `seed ${seed}`).to.have.length.above(0);
        seen[err.status as 400 | 422]++;
      }
    }
    // The mutations must exercise every outcome, or the test proves little.
    expect(seen.accepted).to.be.above(0);
    expect(seen[400]).to.be.above(0);
    expect(seen[422]).to.be.above(0);
  });
});
