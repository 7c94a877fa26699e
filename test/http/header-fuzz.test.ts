import { expect } from 'chai';
import type request from 'supertest';
import { asActor } from '../support/tokens.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { seededRandom } from '../support/random.js';

/** The request headers the server parses itself. */
const HEADERS = [
  'Accept', 'Content-Type', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-None-Exist', 'Prefer',
  'Idempotency-Key', 'traceparent', 'X-Request-Id',
];

/** Pieces that parsers of media types, ETags, dates, preferences and criteria trip over. */
const PIECES = [
  'application/fhir+json', 'application/json', 'application/json+fhir', 'application/fhir+xml', '*/*', 'text/*',
  ';', ',', '=', '"', '\\', ' ', '\t', 'q=0.5', 'q=abc', 'fhirVersion=4.0', 'fhirVersion=3.0', 'fhirVersion=', 'charset=utf-8',
  'W/"1"', '"1"', 'W/', '*', '"', 'W/"-1"', 'W/"99999999999999999999"',
  'Mon, 23 Nov 2026 10:00:00 GMT', 'not a date', '0', '-1', '1e309',
  'return=minimal', 'return=representation', 'return=OperationOutcome', 'handling=strict', 'respond-async', 'return=',
  'identifier=urn:x|1', 'Patient?', '?', '&', '%', '%zz', '_count=-1', 'birthdate=notadate', '__proto__=1',
  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'ff-', 'é', 'x'.repeat(300),
];

function headerValue(next: () => number): string {
  const parts = Math.floor(next() * 5) + 1;
  let value = '';
  for (let i = 0; i < parts; i++) value += PIECES[Math.floor(next() * PIECES.length)]!;
  // header values travel as latin1 here: keep them to what an HTTP client may send
  return value.replace(/[^\x20-\x7e\t]/g, '?').trim() || 'x';
}

type Send = (t: TestApp, id: string) => request.Test;
const REQUESTS: [string, Send][] = [
  ['read', (t, id) => asActor(t.app).get(`/fhir/Patient/${id}`)],
  ['search', (t) => asActor(t.app).get('/fhir/Patient?family=a')],
  ['metadata', (t) => asActor(t.app).get('/fhir/metadata')],
  ['create', (t) => asActor(t.app).post('/fhir/Patient').send(JSON.stringify(samplePatient(3)))],
  ['update', (t, id) => asActor(t.app).put(`/fhir/Patient/${id}`).send(JSON.stringify({ ...samplePatient(2), id }))],
  ['patch', (t, id) => asActor(t.app).patch(`/fhir/Patient/${id}`).send('[{"op":"replace","path":"/gender","value":"other"}]')],
  ['delete', (t, id) => asActor(t.app).delete(`/fhir/Patient/${id}`)],
];

describe('fuzzed request headers', () => {
  let t: TestApp;
  let id: string;
  before(async () => {
    t = testApp();
    const created = await asActor(t.app).post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send(JSON.stringify(samplePatient(2)));
    expect(created.status).to.equal(201);
    id = created.body.id as string;
  });
  after(async () => {
    await t.store.close();
  });

  it('never answer 5xx; every refusal is an OperationOutcome without a stack trace (400 seeded cases)', async function () {
    this.timeout(120_000);
    const next = seededRandom(20261123);
    for (let i = 0; i < 400; i++) {
      const [name, send] = REQUESTS[Math.floor(next() * REQUESTS.length)]!;
      let req = send(t, id);
      const set: Record<string, string> = {};
      const count = Math.floor(next() * 4) + 1;
      for (let h = 0; h < count; h++) set[HEADERS[Math.floor(next() * HEADERS.length)]!] = headerValue(next);
      for (const [header, value] of Object.entries(set)) req = req.set(header, value);
      if (!('Content-Type' in set) && name !== 'read' && name !== 'search' && name !== 'metadata' && name !== 'delete') {
        req = req.set('Content-Type', name === 'patch' ? 'application/json-patch+json' : 'application/fhir+json');
      }
      const res = await req;
      const label = `case ${i}: ${name} ${JSON.stringify(set)} → ${res.status}`;
      expect(res.status, label).to.be.below(500);
      expect(res.text, label).to.not.match(/at [A-Za-z.<>]+ \(|node_modules|<html/i);
      if (res.status >= 400) expect(JSON.parse(res.text).resourceType, label).to.equal('OperationOutcome');
    }
  });
});
