import { expect } from 'chai';
import { CURSOR_PARAM, encodeCursor } from '../../../src/fhir/search/cursor.js';
import { OperationOutcomeError } from '../../../src/fhir/outcome.js';
import { parseSearch } from '../../../src/fhir/search/parse.js';
import { patientSearchParameters } from '../../../src/patient/search-parameters.js';

const KEY = 'k';
const parse = (q: string, strict = false) => {
  const query: Record<string, string[]> = Object.create(null);
  for (const [k, v] of new URLSearchParams(q)) (query[k] ??= []).push(v);
  return parseSearch(query, { parameters: patientSearchParameters, strict, cursorKey: KEY });
};

function refused(q: string, code: string, strict = false): OperationOutcomeError {
  try {
    parse(q, strict);
  } catch (err) {
    expect(err).to.be.instanceOf(OperationOutcomeError);
    const e = err as OperationOutcomeError;
    expect(e.status).to.equal(400);
    expect(e.code).to.equal(code);
    return e;
  }
  throw new Error(`accepted ${q}`);
}

describe('parseSearch', () => {
  it('defaults to 20 rows, accurate total, active patients, no sort', () => {
    const { request, unknown } = parse('');
    expect(request).to.deep.equal({ where: [], sort: [], count: 20, total: 'accurate', states: ['active'] });
    expect(unknown).to.deep.equal([]);
  });

  it('reads _count up to 1000 and refuses the rest', () => {
    expect(parse('_count=1000').request.count).to.equal(1000);
    expect(parse('_count=0').request.count).to.equal(0);
    for (const bad of ['-1', '100000', '1001', 'ten', '1.5', '', '0x10']) refused(`_count=${bad}`, 'INVALID_PARAMETER');
  });

  it('reads several _sort keys with - for descending and refuses unknown ones', () => {
    expect(parse('_sort=family,-birthdate').request.sort).to.deep.equal([
      { field: 'family', descending: false },
      { field: 'birthdate', descending: true },
    ]);
    refused('_sort=name', 'INVALID_PARAMETER');
    refused('_sort=family&_sort=given', 'INVALID_PARAMETER');
  });

  it('reads _total, _summary and _elements', () => {
    const parsed = parse('_total=none&_summary=count&_elements=name,gender');
    expect(parsed.request.total).to.equal('none');
    expect(parsed.summary).to.equal('count');
    expect(parsed.request.count).to.equal(0);
    expect(parsed.elements).to.deep.equal(['name', 'gender']);
    refused('_total=some', 'INVALID_PARAMETER');
    refused('_summary=yes', 'INVALID_PARAMETER');
    refused('_elements=na-me', 'INVALID_PARAMETER');
  });

  it('ignores _format and empty values', () => {
    expect(parse('_format=json&family=').request.where).to.deep.equal([]);
  });

  it('reports unknown parameter names, or refuses them when strict', () => {
    expect(parse('foo=1&bar:exact=2&foo=3').unknown).to.deep.equal(['foo', 'bar']);
    refused('foo=1', 'UNKNOWN_PARAMETER', true);
  });

  it('refuses unknown modifiers', () => {
    refused('family:text=x', 'INVALID_PARAMETER');
    refused('gender:exact=male', 'INVALID_PARAMETER');
    refused('birthdate:not=2000', 'INVALID_PARAMETER');
    refused('organization:Patient=1', 'INVALID_PARAMETER');
    refused('_count:exact=1', 'INVALID_PARAMETER');
  });

  it('refuses bad values naming the parameter and never echoing the value', () => {
    for (const [q, param] of [
      ['birthdate=notadate', 'birthdate'],
      ['birthdate=2020-02-30', 'birthdate'],
      ['gender=eqmale', 'gender'],
      ['active=yes', 'active'],
      ['identifier=a|b|c', 'identifier'],
      ['family:missing=maybe', 'family'],
      ['general-practitioner=Patient/1', 'general-practitioner'],
      ['_id=has space', '_id'],
    ] as const) {
      const err = refused(q, 'INVALID_PARAMETER');
      const text = JSON.stringify(err.toOperationOutcome());
      expect(text).to.include(`'${param}'`);
      expect(text).not.to.include(decodeURIComponent(q.split('=')[1]!));
    }
  });

  it('refuses __proto__, constructor and prototype keys', () => {
    for (const q of ['__proto__=1', 'constructor=1', 'name:prototype=1', 'prototype.x=1']) refused(q, 'FORBIDDEN_KEY');
  });

  it('makes commas OR and repeats AND, honouring \\, escapes', () => {
    const { request } = parse('family=a,b&family=c\\,d');
    expect(request.where).to.deep.equal([
      {
        kind: 'or',
        conditions: [
          { kind: 'entry', param: 'family', tests: [{ field: 'text', op: 'prefix', value: 'a' }] },
          { kind: 'entry', param: 'family', tests: [{ field: 'text', op: 'prefix', value: 'b' }] },
        ],
      },
      { kind: 'entry', param: 'family', tests: [{ field: 'text', op: 'prefix', value: 'c,d' }] },
    ]);
  });

  it('reads the token forms system|code, code, system| and |code', () => {
    const tests = (q: string) => (parse(q).request.where[0] as { tests: unknown[] }).tests;
    expect(tests('identifier=s|c')).to.deep.equal([{ field: 'system', op: 'eq', value: 's' }, { field: 'code', op: 'eq', value: 'c' }]);
    expect(tests('identifier=c')).to.deep.equal([{ field: 'code', op: 'eq', value: 'c' }]);
    expect(tests('identifier=s|')).to.deep.equal([{ field: 'system', op: 'eq', value: 's' }]);
    expect(tests('identifier=|c')).to.deep.equal([{ field: 'system', op: 'eq', value: '' }, { field: 'code', op: 'eq', value: 'c' }]);
    expect(tests('email=A@B.org')).to.deep.equal([{ field: 'code', op: 'eq', value: 'a@b.org' }]);
    expect(tests('phone=(781) 212-8939')).to.deep.equal([{ field: 'code', op: 'eq', value: '+17812128939' }]);
  });

  it('accepts a cursor it signed for the same query and refuses tampered or foreign ones', () => {
    const first = parse('family=a&_sort=birthdate');
    const token = encodeCursor({ after: [0, 'id1'], direction: 'next' }, first.fingerprint, KEY);
    expect(parse(`family=a&_sort=birthdate&${CURSOR_PARAM}=${token}`).request.cursor).to.deep.equal({ after: [0, 'id1'], direction: 'next' });
    refused(`family=b&_sort=birthdate&${CURSOR_PARAM}=${token}`, 'INVALID_CURSOR');
    const raw = Buffer.from(token, 'base64url');
    raw[20] = raw[20]! ^ 1;
    refused(`family=a&_sort=birthdate&${CURSOR_PARAM}=${raw.toString('base64url')}`, 'INVALID_CURSOR');
    const plain = Buffer.from(JSON.stringify({ v: 1, f: first.fingerprint, a: [1, 'id1'], d: 'next' })).toString('base64url');
    refused(`family=a&_sort=birthdate&${CURSOR_PARAM}=${plain}`, 'INVALID_CURSOR');
    expect(Buffer.from(token, 'base64url').toString('latin1')).to.not.include('id1');
    refused(`family=a&_sort=birthdate&${CURSOR_PARAM}=garbage`, 'INVALID_CURSOR');
    const otherKey = encodeCursor({ after: [0, 'id1'], direction: 'next' }, first.fingerprint, 'other');
    refused(`family=a&_sort=birthdate&${CURSOR_PARAM}=${otherKey}`, 'INVALID_CURSOR');
  });
});
