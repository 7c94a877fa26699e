import { expect } from 'chai';
import request from 'supertest';
import { asActor } from '../support/tokens.js';
import { testApp, type TestApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { ERROR_SYSTEM } from '../support/outcome.js';

const FHIR = 'application/fhir+json';

interface Outcome {
  resourceType: string;
  issue: { code: string; expression?: string[]; details?: { coding?: { system?: string; code?: string }[] } }[];
}

/** Every non-2xx answer: an OperationOutcome with a stable code, FHIR JSON, no HTML, no stack. */
function expectOutcome(res: request.Response, status: number, code: string): Outcome {
  expect(res.status, res.text).to.equal(status);
  expect(res.headers['content-type']).to.match(/^application\/fhir\+json/);
  expect(res.text).to.not.match(/<html|at [A-Za-z]+ \(|node_modules/i);
  const body = JSON.parse(res.text) as Outcome;
  expect(body.resourceType).to.equal('OperationOutcome');
  expect(body.issue[0]?.details?.coding?.find((c) => c.system === ERROR_SYSTEM)?.code).to.equal(code);
  return body;
}

describe('error model', () => {
  let t: TestApp;
  beforeEach(() => {
    t = testApp({ env: { BODY_LIMIT: '64kb' } });
  });
  afterEach(async () => {
    await t.store.close();
  });

  const post = (body: string, type = FHIR) => asActor(t.app).post('/fhir/Patient').set('Content-Type', type).send(body);

  it('answers 400 MALFORMED_JSON to malformed JSON', async () => {
    for (const body of ['{', '{"resourceType": "Patient",}', 'null x', '"just a string"', '\u0000']) {
      expectOutcome(await post(body), 400, 'MALFORMED_JSON');
    }
  });

  it('answers 400 WRONG_RESOURCE_TYPE to another resourceType', async () => {
    expectOutcome(await post(JSON.stringify({ resourceType: 'Observation', status: 'final' })), 400, 'WRONG_RESOURCE_TYPE');
  });

  it('answers 400 with the path to an unknown element', async () => {
    const body = expectOutcome(await post(JSON.stringify({ ...samplePatient(), favouriteColour: 'blue' })), 400, 'INVALID_RESOURCE');
    expect(JSON.stringify(body.issue)).to.include('Patient');
  });

  it('answers 422 SERVER_MANAGED_FIELD to a client-set meta.versionId on create', async () => {
    const res = await post(JSON.stringify({ ...samplePatient(), meta: { versionId: '5' } }));
    const body = expectOutcome(res, 422, 'SERVER_MANAGED_FIELD');
    expect(body.issue[0]?.expression).to.deep.equal(['Patient.meta.versionId']);
  });

  it('answers 422 with the expression to a name with digits and to a birthDate in the future', async () => {
    const digits = expectOutcome(await post(JSON.stringify({ ...samplePatient(), name: [{ family: 'Sm1th' }] })), 422, 'BUSINESS_RULE');
    expect(digits.issue[0]?.expression?.[0]).to.equal('Patient.name[0].family');
    const future = expectOutcome(await post(JSON.stringify({ ...samplePatient(), birthDate: '2999-01-01' })), 422, 'BUSINESS_RULE');
    expect(future.issue[0]?.expression).to.deep.equal(['Patient.birthDate']);
  });

  it('answers 413 PAYLOAD_TOO_LARGE to a body over the limit', async () => {
    const big = { ...samplePatient(), name: [{ family: 'A'.repeat(70 * 1024) }] };
    expectOutcome(await post(JSON.stringify(big)), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 415 to a body that is not JSON', async () => {
    expectOutcome(await post('<Patient/>', 'application/fhir+xml'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectOutcome(await post('x', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 406 when only XML is acceptable', async () => {
    expectOutcome(await asActor(t.app).get('/fhir/metadata').set('Accept', 'application/fhir+xml'), 406, 'NOT_ACCEPTABLE');
    expectOutcome(await asActor(t.app).get('/fhir/metadata?_format=xml'), 406, 'NOT_ACCEPTABLE');
  });

  it('negotiates the FHIR version parameter: R4 or none is served, only other versions answer 406/415', async () => {
    const accepts = (accept: string) => asActor(t.app).get('/fhir/metadata').set('Accept', accept);
    for (const ok of [
      'application/fhir+json; fhirVersion=4.0',
      'application/fhir+json;fhirVersion=4.0.1',
      'application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0',
      'application/fhir+json;q=1.0, application/json+fhir;q=0.9',
      'application/json+fhir',
      'text/html, */*;q=0.8',
      'application/fhir+json; fhirVersion=3.0, */*;q=0.1',
    ]) {
      expect((await accepts(ok)).status, ok).to.equal(200);
    }
    expectOutcome(await accepts('application/fhir+json; fhirVersion=3.0'), 406, 'NOT_ACCEPTABLE');
    expectOutcome(await accepts('application/fhir+json; fhirVersion="5.0", application/json; fhirVersion=1.0'), 406, 'NOT_ACCEPTABLE');
    expectOutcome(await post(JSON.stringify(samplePatient()), 'application/fhir+json; fhirVersion=3.0'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect((await post(JSON.stringify(samplePatient(8)), 'application/fhir+json; fhirVersion=4.0; charset=utf-8')).status).to.equal(201);
  });

  it('answers 404 to unknown routes and unsupported resource types', async () => {
    expectOutcome(await asActor(t.app).get('/fhir/Observation/1'), 404, 'UNSUPPORTED_RESOURCE_TYPE');
    expectOutcome(await asActor(t.app).get('/fhir/Patient/1/_nothing/2/3'), 404, 'UNKNOWN_ROUTE');
    expectOutcome(await asActor(t.app).get('/nowhere'), 404, 'UNKNOWN_ROUTE');
    expectOutcome(await asActor(t.app).get('/fhir//Patient'), 404, 'UNKNOWN_ROUTE');
  });

  it('answers 405 to a method the route does not have', async () => {
    expectOutcome(await asActor(t.app).delete('/fhir/metadata'), 405, 'METHOD_NOT_ALLOWED');
    expectOutcome(await asActor(t.app).post('/fhir/Patient/abc/_history'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('refuses __proto__, constructor and prototype keys in bodies and query parameters', async () => {
    const proto = '{"resourceType":"Patient","name":[{"family":"X","__proto__":{"admin":true}}]}';
    expectOutcome(await post(proto), 400, 'FORBIDDEN_KEY');
    expectOutcome(await asActor(t.app).get('/fhir/Patient?__proto__=1'), 400, 'FORBIDDEN_KEY');
  });

  it('never answers 5xx to fuzzed JSON bodies', async () => {
    const base = JSON.stringify(samplePatient(7));
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 150; i++) {
      const chars = base.split('');
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        const at = Math.floor(random() * chars.length);
        chars[at] = '{}[]",:0aZ\\\u00e9 '.charAt(Math.floor(random() * 14));
      }
      const res = await post(chars.join(''));
      expect(res.status, chars.join('')).to.be.within(200, 499);
      if (res.status >= 400) expect(res.body.resourceType).to.equal('OperationOutcome');
    }
  });

  it('echoes a well-formed X-Request-Id and generates one otherwise', async () => {
    const echoed = await asActor(t.app).get('/fhir/metadata').set('X-Request-Id', 'abc-123');
    expect(echoed.headers['x-request-id']).to.equal('abc-123');
    const generated = await asActor(t.app).get('/fhir/metadata').set('X-Request-Id', 'bad id <script>');
    expect(generated.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });

  it('propagates the trace id of a W3C traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await asActor(t.app).get('/fhir/metadata').set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
    expect(res.headers.traceparent).to.match(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });
});

describe('GET /fhir/metadata', () => {
  it('serves the CapabilityStatement with its run-time fields filled', async () => {
    const t = testApp();
    const res = await asActor(t.app).get('/fhir/metadata');
    expect(res.status).to.equal(200);
    expect(res.body.resourceType).to.equal('CapabilityStatement');
    expect(res.body.fhirVersion).to.equal('4.0.1');
    expect(res.body.software.version).to.equal('test');
    expect(res.body.implementation.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/fhir$/);
    const patient = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    const names = patient.searchParam.map((p: { name: string }) => p.name);
    expect(names).to.include.members(['_id', 'identifier', 'family', 'birthdate', 'general-practitioner']);
    for (const param of patient.searchParam) expect(param.documentation).to.be.a('string').and.not.equal('');
    await t.store.close();
  });
});
